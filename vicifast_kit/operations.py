"""Nothing at run time: the operations are built from the server's description when a client connects.

Their types for editors (pyright, Jedi, VS Code) are in ``operations.pyi`` beside this file,
generated from an Asterisk's api-docs by ``python -m vicifast_kit.typing_gen``.
"""
