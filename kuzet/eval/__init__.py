"""The evaluations behind ``kuzet eval``: one module per kind (contract: ../shared/EVAL.md).

``faces``, ``masks``, ``plates``, ``scenes`` and ``lights`` each read a folder of the stated layout through the same
models and rules as the pipelines and return the JSON result as a dict. A folder without the layout raises
``kuzet.eval.common.LayoutError`` with one line saying what is missing; progress goes to an optional callback. The
click commands in ``kuzet.commands`` are thin over these: they print, and turn a ``LayoutError`` into exit code 2.
"""
