"""Prompt and answer templates (EAI-LLM, LLaMA-2 style conversation; answer formats of appendix D)."""

from __future__ import annotations

SKELETON_FEATURE = "<SkeletonFeature>"
TEMPLATE = "Human: <Skeleton> <SkeletonFeature> </Skeleton> {question} #Assistant:"

# Several phrasings of the recognition question; training cycles through them.
RECOGNITION_QUESTIONS = (
    "Can you tell me the emotion of this person?",
    "What emotion does this person show?",
    "Which emotion is this person expressing?",
    "How does this person feel?",
)
DESCRIBE_QUESTION = "The emotion of this person is [{label}], please tell me some reasons for it."

ANSWER_FORMATS = ("A", "B", "C")


def split_template(question: str) -> tuple[str, str]:
    """The prompt text before and after the skeleton tokens for ``question``."""
    before, after = TEMPLATE.format(question=question).split(SKELETON_FEATURE)
    return before.rstrip(), after


def article(word: str) -> str:
    """'an' before a vowel sound (by first letter), else 'a'."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def format_answer(label: str, fmt: str = "A") -> str:
    """The recognition answer for ``label`` in format A ``[label]``, B short or C long sentence.

    The leading space makes the answer tokenise exactly as it would after ``#Assistant:``.
    """
    if fmt == "A":
        return f" {label}"
    if fmt == "B":
        return f" This is {article(label)} {label} person."
    if fmt == "C":
        return (
            " This is a 3D skeleton sequence of a person. From their movements, it can be observed "
            f"that their emotion is {label}."
        )
    raise ValueError(f"lora.answer_format must be one of {ANSWER_FORMATS}, not {fmt!r}")


def describe_question(label: str) -> str:
    """The description prompt for a (given or predicted) label."""
    return DESCRIBE_QUESTION.format(label=label)
