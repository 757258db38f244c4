"""The lab: the real Asterisk 22 the kit talks to (up, down, status, logs, cli)."""
