/* The ABI is header-only; this file lets SwiftPM build the target and checks
 * that the header compiles as C on its own. */
#include "reel_plugin.h"

_Static_assert(sizeof(reel_status) == sizeof(int), "reel_status is an int");
