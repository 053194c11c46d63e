"""Free-text descriptions of a take, written from the cues the generator actually applied.

Only cues that clearly differ from neutral are mentioned, the most salient first, each in one of
several phrasings; the emotion itself is never named, so a description model must read the body.
"""

from __future__ import annotations

import numpy as np

from skellm.config import KNOWLEDGE_PARTS
from skellm.synth.emotions import NEUTRAL, SPREAD, Cues

_ACTION = {
    "walk": ["While walking", "Walking across the room", "As the person walks"],
    "walk_with_object": ["Carrying something while walking", "While walking with an object",
                         "As the person carries an object"],
    "sit_down": ["While sitting down", "As the person sits down", "Lowering onto the chair"],
    "knock": ["While knocking", "Knocking on the door", "As the person knocks"],
    "lift": ["While lifting the object", "Picking the object up", "As the person lifts something"],
    "throw": ["While throwing", "Throwing the object", "As the person throws"],
    "move_books": ["While moving the books", "Moving books from one place to another",
                   "As the person moves the books"],
    "gesture": ["While gesturing", "Talking with the hands", "As the person gestures"],
    "stand": ["Standing in place", "While standing", "Standing still"],
}  # fmt: skip

# (cue, direction) -> phrasings. Direction +1: the cue is above neutral, -1 below.
_PHRASES: dict[tuple[str, int], list[str]] = {
    ("head_flex", 1): ["the head is bowed", "the head hangs low", "the gaze is directed at the floor",
                       "the chin drops toward the chest"],
    ("head_flex", -1): ["the head is held high", "the chin is raised", "the head tilts upward"],
    ("trunk_flex", 1): ["the trunk leans forward", "the back is hunched", "the torso bends forward",
                        "the posture is slumped"],
    ("trunk_flex", -1): ["the trunk is upright and open", "the torso leans back slightly",
                         "the chest is lifted"],
    ("shoulder_raise", 1): ["the shoulders are raised", "the shoulders are pulled up toward the ears",
                            "the shoulders look tense and lifted"],
    ("shoulder_raise", -1): ["the shoulders droop", "the shoulders are dropped", "the shoulders sag"],
    ("shoulder_protr", 1): ["the shoulders roll forward", "the shoulders curve inward"],
    ("tempo", 1): ["movements are fast", "the pace is quick", "everything is done in a hurry",
                   "the motion is rapid"],
    ("tempo", -1): ["movements are slow", "the pace is sluggish", "the motion is slow and heavy",
                    "everything takes a long time"],
    ("amplitude", 1): ["movements are large and expansive", "the arms swing widely",
                       "gestures are big and energetic"],
    ("amplitude", -1): ["movements are small and restrained", "the arms barely swing",
                        "gestures are small and contained"],
    ("jerk", 1): ["the motion is jerky and abrupt", "movements start and stop suddenly",
                  "there are sharp, irregular movements"],
    ("approach", 1): ["the body moves forward", "the person advances", "the person steps toward the front"],
    ("approach", -1): ["the person backs away", "the body withdraws", "the person steps back"],
    ("expand", 1): ["the arms open away from the body", "the arms are held wide", "the posture is open"],
    ("expand", -1): ["the arms stay close to the body", "the arms are held tight against the body",
                     "the posture is closed"],
    ("scan", 1): ["the head turns from side to side", "the person keeps looking around",
                  "the eyes and head scan the surroundings"],
    ("avert", 1): ["the face is turned away", "the head turns aside", "the person looks away"],
    ("tremble", 1): ["the hands tremble", "there is a slight trembling", "the body shakes a little"],
    ("curl", 1): ["the hands are clenched into fists", "the fists are tight"],
}  # fmt: skip
_TOUCH = {
    "face": [
        "a hand touches the face",
        "one hand goes to the face",
        "the person covers the face with a hand",
    ],
    "mouth": ["a hand covers the mouth", "one hand goes to the mouth"],
    "neck": ["a hand rubs the neck", "one hand touches the back of the neck"],
    "chest": ["a hand is pressed to the chest", "one hand rests on the chest"],
    "arm": ["one hand holds the other arm", "the person grips one arm"],
    "head": ["both hands go to the head", "the hands grab the head"],
}
_RAISE = ["the arms are thrown up", "both arms rise suddenly", "the arms shoot upward"]
# Deviation (in spreads) needed before a cue is worth mentioning.
_THRESHOLD = 2.0
_NORMS = {"tempo": "log", "amplitude": "log"}


def salient_cues(cues: Cues, noise: float = 1.0) -> list[tuple[str, int, float]]:
    """(cue, direction, salience) for cues clearly away from neutral, most salient first.

    Salience is the deviation in take-to-take spreads (widened by the corpus ``noise``), so plain
    variation of a neutral take is rarely mentioned.
    """
    out = []
    for cue, base in NEUTRAL.items():
        v = cues[cue]
        z = (np.log(v / base) if cue in _NORMS else v - base) / (SPREAD[cue] * max(noise, 1.0))
        d = 1 if z > 0 else -1
        if abs(z) >= _THRESHOLD and (cue, d) in _PHRASES:
            out.append((cue, d, float(abs(z))))
    out.sort(key=lambda c: -c[2])
    return out


def describe(cues: Cues, action: str, rng: np.random.Generator, noise: float = 1.0, max_cues: int = 4) -> str:
    """One or two sentences naming the body cues this take shows (in varied wording)."""
    parts = [str(rng.choice(_PHRASES[(c, d)])) for c, d, _ in salient_cues(cues, noise)[:max_cues]]
    if cues.touch:
        parts.insert(int(rng.integers(0, len(parts) + 1)), str(rng.choice(_TOUCH[cues.touch])))
    if cues.raise_arms:
        parts.append(str(rng.choice(_RAISE)))
    if not parts:
        parts = [str(rng.choice(["the body moves in an ordinary, relaxed way",
                                 "nothing unusual shows in the posture or movement",
                                 "the posture is relaxed and the movement even"]))]  # fmt: skip
    lead = str(rng.choice(_ACTION[action]))
    if len(parts) == 1:
        body = parts[0]
    elif rng.random() < 0.5:
        body = ", ".join(parts[:-1]) + " and " + parts[-1]
    else:
        head, tail = parts[: (len(parts) + 1) // 2], parts[(len(parts) + 1) // 2 :]
        body = (
            ", ".join(head)
            + ". "
            + _cap(", ".join(tail[:-1]) + (" and " if len(tail) > 1 else "") + tail[-1])
        )
    return f"{lead}, {body}."


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def lexicon() -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
    """The phrases :func:`describe` writes, read back: phrase -> (cue, direction) for body cues
    (touches as ``touch_<where>``, raised arms as ``raise_arms``), and lead phrase -> action."""
    cues = {ph: key for key, phrases in _PHRASES.items() for ph in phrases}
    cues |= {ph: (f"touch_{where}", 1) for where, phrases in _TOUCH.items() for ph in phrases}
    cues |= {ph: ("raise_arms", 1) for ph in _RAISE}
    return cues, {lead: action for action, leads in _ACTION.items() for lead in leads}


# Class knowledge for the emotion corpora (label = emotion), per body part, from the cue profiles.
_CUE_PART = {"head_flex": "head", "scan": "head", "avert": "head", "curl": "hand", "tremble": "hand",
             "expand": "arm", "amplitude": "arm", "shoulder_raise": "arm", "shoulder_protr": "arm",
             "jerk": "arm", "trunk_flex": "hip", "approach": "hip"}  # fmt: skip
_LEG_FOOT: dict[tuple[str, int], dict[str, list[str]]] = {
    ("tempo", 1): {"leg": ["the legs move quickly", "steps are short and fast"],
                   "foot": ["the feet move with a quick rhythm", "the feet hurry"]},
    ("tempo", -1): {"leg": ["the legs move slowly and heavily", "the steps are slow"],
                    "foot": ["the feet drag along the floor", "the feet move slowly"]},
    ("approach", 1): {"leg": ["the legs carry the body forward"], "foot": ["the feet step toward the front"]},
    ("approach", -1): {"leg": ["the legs carry the body backward"], "foot": ["the feet step back, away"]},
}  # fmt: skip
_KNOW_REST = {
    "head": ["the head is carried in an ordinary, level way", "the head moves little"],
    "hand": ["the hands are relaxed", "the hands show nothing unusual"],
    "arm": ["the arms move in an ordinary, relaxed way", "the shoulders are relaxed"],
    "hip": ["the trunk is held in an ordinary, upright way", "the body stays where it is"],
    "leg": ["the legs move at an ordinary pace", "the steps are ordinary"],
    "foot": ["the feet move at an ordinary pace", "the feet stay steady"],
}
_VISUAL = {
    "neutral": ["a person moving in a calm, ordinary way"],
    "joy": ["a happy person moving in an open, lively way"],
    "happiness": ["a happy person moving in an open, lively way"],
    "anger": ["an angry person moving in a forceful, abrupt way"],
    "panic": ["a panicked person moving hastily and looking around"],
    "fear": ["a frightened person shrinking back and looking around"],
    "anxiety": ["an anxious, tense person fidgeting"],
    "sadness": ["a sad person moving slowly with a bowed head"],
    "shame": ["an ashamed person hiding the face and looking down"],
    "disgust": ["a disgusted person turning away"],
    "surprise": ["a surprised person starting back"],
}


def emotion_knowledge_rows(emotions: tuple[str, ...]) -> list[dict[str, str]]:
    """SUGAR-style knowledge per emotion and body part, from the cue profiles the generator applies.

    A cue is named when the emotion's full-intensity profile moves it at least one take-to-take spread
    from neutral; parts with fewer than two such sentences are completed with what stays ordinary.
    """
    from skellm.synth.emotions import PROFILES, RAISE, TOUCH

    rows = []
    for emo in emotions:
        prof = PROFILES[emo]
        per: dict[str, list[str]] = {p: [] for p in KNOWLEDGE_PARTS}
        cues = []
        for cue, base in NEUTRAL.items():
            v = prof.get(cue, base)
            z = (np.log(v / base) if cue in _NORMS else v - base) / SPREAD[cue]
            if abs(z) >= 1.0:
                cues.append((cue, 1 if z > 0 else -1, abs(z)))
        for cue, d, _ in sorted(cues, key=lambda c: -c[2]):
            if (cue, d) in _PHRASES and cue in _CUE_PART:
                per[_CUE_PART[cue]] += _PHRASES[(cue, d)][:2]
            for part, texts in _LEG_FOOT.get((cue, d), {}).items():
                per[part] += texts
        p_touch, targets = TOUCH[emo]
        if p_touch >= 0.2:
            for target, _ in sorted(targets.items(), key=lambda kv: -kv[1])[:2]:
                per["hand"].append(f"{_TOUCH[target][0]} at times")
        if RAISE.get(emo, 0.0) >= 0.2:
            per["arm"].append(f"{_RAISE[0]} at times")
        for part in KNOWLEDGE_PARTS[:-1]:
            if len(per[part]) < 2:
                per[part] += _KNOW_REST[part][: 2 - len(per[part])]
        per["visual"] = list(_VISUAL.get(emo, [f"a person showing {emo}"]))
        if cues:
            top = [_PHRASES[(c, d)][0] for c, d, _ in sorted(cues, key=lambda c: -c[2]) if (c, d) in _PHRASES]
            per["visual"].append(_cap(f"{top[0]} and {top[1]}" if len(top) > 1 else top[0]) if top else "")
        for part in KNOWLEDGE_PARTS:
            for text in dict.fromkeys(t for t in per[part] if t):
                rows.append({"label": emo, "part": part, "text": _cap(text).rstrip(".") + "."})
    return rows
