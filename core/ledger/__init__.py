"""The ledger (台账) as staff read it: one line per child with the household's standing, and a
household's or child's timeline. Read models over several domains (households, check-ins,
alerts, lessons), so they sit above them and no domain imports them."""
