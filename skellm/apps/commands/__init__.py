"""One module per ``skellm`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
