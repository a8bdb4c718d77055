"""Guardians on the mobile web: phone-number sign-in by SMS code, 90-day sessions, and staff-made
one-time links. Only keyed hashes of numbers, codes and tokens are stored."""
