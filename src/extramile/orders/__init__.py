"""Orders and their lines, from the till, the web shop and the phone, through their life."""
