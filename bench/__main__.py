"""`python -m bench`: the load test (`make bench`, `make soak`; --help for its knobs), and
`python -m bench data` (--help), which generates the benchmark data on its own."""

import os
import sys


def run_data_command(argv):
    """The data generator as manage.py would run it, without being a command of an installed
    app: production's INSTALLED_APPS never hold the benchmark."""
    # As manage.py sets them: production settings, DEBUG on for a developer's checkout.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stepup_site.settings")
    os.environ.setdefault("DEBUG", "1")
    import django
    from django.core.management.base import CommandParser, handle_default_options

    # --settings and --pythonpath only act before set-up (manage.py reads them first too).
    early = CommandParser(add_help=False, allow_abbrev=False)
    early.add_argument("--settings")
    early.add_argument("--pythonpath")
    handle_default_options(early.parse_known_args(argv)[0])
    django.setup()
    from bench.data import Command

    Command().run_from_argv(["python -m bench", "data", *argv])


def main(argv):
    if argv[:1] == ["data"]:
        run_data_command(argv[1:])
        return 0
    from bench.cli import main as load_test

    try:
        return load_test(argv)
    except KeyboardInterrupt:
        # gunicorn is stopped and the run's data taken away by then (the finally blocks).
        return "\nInterrupted."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
