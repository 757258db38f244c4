# The solution to the "Try it" of 10_asterisk_pushes_to_you.ipynb: the notebook runs it with %run -i, in its own namespace.

class IdempotentWebhook(vk.push.Webhook):
    """A webhook that places at most one call per reference: a repeat is refused with 409 Conflict."""

    def place(self, request):
        """Refuse a reference already placed; otherwise place the call as the plain webhook does."""
        if any(c["reference"] == request["reference"] for c in self.calls.values()):
            raise vk.push.WebhookError(409, f"Already placed a call for reference {request['reference']!r}")
        return super().place(request)
