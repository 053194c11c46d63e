"""The user-facing layer: the ``skellm`` command, predict, render, report, export."""
