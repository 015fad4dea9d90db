print("reel: seed")
