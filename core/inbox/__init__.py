"""The directors 'inbox: every word a guardian sends reaches a person."""
