"""The benchmark is code too: its cheapest figure runs here, so a moved module or renamed
function breaks the suite rather than the next ``make bench``. No timing is judged here."""

from __future__ import annotations

from tests.bench.figures import crypto_figure


def test_the_crypto_figure_runs_through_the_real_cipher() -> None:
    figure = crypto_figure(ops=20)

    assert [name for name, _ in figure.targets] == ["crypto ratio <= 1.5x raw AESGCM"]
    assert figure.rows[0]["ops"] == 20
    assert figure.rows[0]["keyvault_us_per_op"] > 0
