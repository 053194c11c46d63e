"""synth stage: the synthetic emotional-mocap corpora (params seed, data.source, data.synth) -> data/raw."""

from skellm.io import load_params
from skellm.synth.corpora import write_raw


def main() -> None:
    params = load_params()
    data = params.get("data", {})
    synth = data.get("synth", {})
    counts = write_raw(
        synth.get("out", "data/raw"), data.get("source", "synth"), synth, params.get("seed", 0)
    )
    print(
        "synth: "
        + (", ".join(f"{c} {n} takes" for c, n in counts.items()) or "no takes (data.source is not synth)")
    )


if __name__ == "__main__":
    main()
