# The solution to the "Try it" of 01_ari_vs_ami.ipynb: the notebook runs it with %run -i, in its own namespace.

def ami_menu(channel_name):
    """Send the waiting call to the ami-menu context with AMI; return the key the caller pressed."""
    ami.action("Redirect", channel=channel_name, context="ami-menu", exten="s", priority=1)
    choice = ami.wait_for("UserEvent", timeout=20, where=lambda e: e.get("UserEvent") == "MenuChoice"
                          and e["Channel"] == channel_name)
    return choice["Choice"]
