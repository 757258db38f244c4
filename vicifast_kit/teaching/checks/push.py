"""The check of notebook 10 (Asterisk pushes to you): is the learner's webhook idempotent, and only that?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ...client import ARIClient
    from ...push.webhook import CallbackReceiver

TOKEN = "check-token-10"
#: The number the check's requests call: one of the lab's simulated customers (it answers and presses 1).
NUMBER = "5550150"

#: What each refusal status tells a CRM, for a learner who chose another than 409.
MEANS = {
    400: "400 says the body is not even JSON",
    401: "401 says the token is wrong: the CRM would ask for a new one",
    403: "403 says this client may never do this",
    422: "422 says the request is invalid and must be fixed: this one was valid the first time",
    429: "429 says 'too many, try again later': the CRM would retry, which is what we want to stop",
}


def check_idempotent(webhook_class: Any, ari: "ARIClient", crm: "CallbackReceiver", repeat_key: Any = None,
                     repeat_status: Any = None) -> str:
    """Send a request, the same again, then another reference for the same number; one line on what the CRM and the lab saw.

    `repeat_key` and `repeat_status` are the learner's two decisions (the field that makes a repeat, the
    status that refuses it), checked before any call is placed.
    """
    import requests
    from .. import blank
    if blank(repeat_key, repeat_status):
        return "Fill in your two decisions first: REPEAT_KEY and REPEAT_STATUS still hold '...'."
    if repeat_key not in ("reference", "to"):
        return (f"REPEAT_KEY is {repeat_key!r}, but each call the webhook accepted (self.calls) keeps only its "
                "'reference' and its 'to' (and its own call_id): which of the two makes a second request a repeat?")
    if isinstance(repeat_status, bool) or not isinstance(repeat_status, int) or not 400 <= repeat_status <= 499:
        return (f"REPEAT_STATUS is {repeat_status!r}: a refusal the CRM's request caused is an HTTP status "
                "number from 400 to 499.")
    try:
        hook = webhook_class(ari, token=TOKEN, secret=crm.secret)
    except Exception as error:      # noqa: BLE001 - a check says what went wrong, it never raises
        return f"{getattr(webhook_class, '__name__', 'The webhook')}(...) could not start: {type(error).__name__}: {error}"
    body = {"to": NUMBER, "reference": "lead-99", "callback_url": crm.url + "/call-done"}

    def ask(**changes: str) -> "requests.Response":
        return requests.post(hook.url + "/calls", json=dict(body, **changes), timeout=5,
                             headers={"Authorization": f"Bearer {TOKEN}"})

    def answered(call_id: str) -> str | None:
        outcome = crm.wait(timeout=20, where=lambda c: c["body"]["call_id"] == call_id)["body"]
        return None if outcome["outcome"] == "answered" else f"A call was not answered: {outcome}"

    try:
        first = ask()
        if first.status_code != 202:
            if first.status_code == 500:
                return ("The first request failed inside the webhook (500): are the blanks filled in? "
                        f"{first.json().get('error', first.text)}")
            return f"The first request must be accepted (202), but the webhook said {first.status_code}: {first.text}"
        repeat = ask()
        other = ask(reference="lead-100")          # a new lead for the same customer: a call of its own
        problem = answered(first.json()["call_id"])
        if problem:
            return problem
        if repeat.status_code == 202:
            return (f"The repeat was accepted too: {len(hook.calls)} calls for one reference. What do the CRM's "
                    "two requests have in common that two different requests never have?")
        if repeat.status_code != 409:
            why = MEANS.get(repeat.status_code, f"{repeat.status_code} is not what a CRM reads as 'already done'")
            return (f"The repeat was refused with {repeat.status_code}, but {why}. Which status says 'this "
                    "conflicts with what is already there' (so do not retry)?")
        if other.status_code != 202:
            return (f"A new reference for the same number was refused ({other.status_code}): a customer may be "
                    "called for two leads. Compare what identifies the request, not who is called.")
        problem = answered(other.json()["call_id"])
        if problem:
            return problem
        return ("Well done: a retried request is refused with 409, the customer is called once for it, "
                "and a new reference for the same number is still called.")
    except Exception as error:      # noqa: BLE001
        return f"The check stopped with {type(error).__name__}: {error}"
    finally:
        hook.close()                # hangs up any call of its own still going
