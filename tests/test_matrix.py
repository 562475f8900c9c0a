"""Guards on the matrix itself: it names real options and leaves no choice untried."""

import itertools

from tests.matrix import CHOICES, COOKIECUTTER_JSON, INSTALL_ROWS, RENDER_ROWS


def test_every_key_the_rows_use_exists_in_cookiecutter_json() -> None:
    # Cookiecutter silently ignores unknown extra_context keys, so a typo would test nothing.
    for row in [*RENDER_ROWS, *INSTALL_ROWS.values()]:
        assert set(row) <= set(COOKIECUTTER_JSON)


def test_the_render_tier_bakes_every_combination() -> None:
    combinations = {tuple(row[key] for key in CHOICES) for row in RENDER_ROWS}
    assert combinations == set(itertools.product(*CHOICES.values()))


def test_the_install_tier_pairs_every_choice_with_every_other() -> None:
    for first, second in itertools.combinations(CHOICES, 2):
        for pair in itertools.product(CHOICES[first], CHOICES[second]):
            assert any((row[first], row[second]) == pair for row in INSTALL_ROWS.values()), (
                f"no install row has {first}={pair[0]} with {second}={pair[1]}"
            )


def test_every_install_row_sets_every_option() -> None:
    for name, row in INSTALL_ROWS.items():
        assert set(row) == set(CHOICES), name
