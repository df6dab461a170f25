"""One module per subcommand of ``python -m nnfast``, named as the subcommand.

Each has ``run(args, out) -> int``: `args` is the argparse namespace built by
:func:`nnfast.cli.parser.build_parser`, `out` the text stream for its output, the return
value the exit code. A problem with the user's input is raised as
:class:`~nnfast.cli.errors.CLIError`. :func:`nnfast.cli.main` imports only the module
of the command it runs, so ``nnfast info`` never pays for scikit-learn.
"""
