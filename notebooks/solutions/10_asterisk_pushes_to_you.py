# The solution to the "Try it" of 10_asterisk_pushes_to_you.ipynb: the notebook runs it with %run -i, in its own namespace.

# The CRM's retry carries the same reference; a new lead for the same customer has a new one (so not "to").
REPEAT_KEY = "reference"
# 409 Conflict: the request clashes with what is already there; unlike 429 or a 5xx, it tells the CRM not to retry.
REPEAT_STATUS = 409


class IdempotentWebhook(vk.push.Webhook):
    """A webhook that places at most one call per request: a repeat is refused, so a CRM's retry never calls twice."""

    def place(self, request):
        """Refuse a request already placed; otherwise place the call as the plain webhook does."""
        if any(c[REPEAT_KEY] == request[REPEAT_KEY] for c in self.calls.values()):
            raise vk.push.WebhookError(REPEAT_STATUS, f"Already placed a call for {REPEAT_KEY} {request[REPEAT_KEY]!r}")
        return super().place(request)
