#include "reel_plugin.h"
