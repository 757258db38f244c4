# The solution to the "Try it" of 09_a_voice_bot.ipynb: the notebook runs it with %run -i, in its own namespace.

# An invoice is a bill: "invoice" belongs with billing, and nowhere else.
my_intents = {
    "sales": ["sales"],
    "billing": ["billing", "bill", "invoice"],
    "agent": ["agent", "person", "human", "operator"],
}
