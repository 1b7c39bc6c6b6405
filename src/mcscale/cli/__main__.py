"""``python -m mcscale.cli``: the same as the ``mcscale`` command."""

from mcscale.cli import main_entry

if __name__ == "__main__":
    main_entry()
