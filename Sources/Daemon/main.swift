print("reeld: seed")
