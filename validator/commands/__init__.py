"""One module per subcommand, each with register(subparsers) and run(args) -> exit code."""
