"""Prompt and answer templates (EAI-LLM, LLaMA-2 style conversation; answer formats of appendix D)."""

from __future__ import annotations

from collections.abc import Sequence

from skellm.config import PROMPTS
from skellm.data.labelspace import label_text

SKELETON_FEATURE = "<SkeletonFeature>"
TEMPLATE = "Human: <Skeleton> <SkeletonFeature> </Skeleton> {question} #Assistant:"

# Several phrasings of the recognition question per task (what the labels name); training cycles
# through them.
QUESTIONS = {
    "emotion": (
        "Can you tell me the emotion of this person?",
        "What emotion does this person show?",
        "Which emotion is this person expressing?",
        "How does this person feel?",
    ),
    "action": (
        "Can you tell me the action of this person?",
        "What action is this person performing?",
        "Which action does this person do?",
        "What is this person doing?",
    ),
}
RECOGNITION_QUESTIONS = QUESTIONS["emotion"]
DESCRIBE_QUESTIONS = {
    "emotion": "The emotion of this person is [{label}], please tell me some reasons for it.",
    "action": "The action of this person is [{label}], please tell me which body cues show it.",
}
TASKS = tuple(QUESTIONS)
# SUGAR's question. Its "<action>" placeholder for the skeleton tokens is dropped: TEMPLATE already puts
# the tokens before the question; the task word follows the corpus (emotion corpora choose an emotion).
SUGAR_QUESTION = (
    "Given a sequence of action tokens, please choose the most compatible {task} from: [{labels}], "
    "and describe the {task}."
)

ANSWER_FORMATS = ("A", "B", "C")


def split_template(question: str) -> tuple[str, str]:
    """The prompt text before and after the skeleton tokens for ``question``."""
    before, after = TEMPLATE.format(question=question).split(SKELETON_FEATURE)
    return before.rstrip(), after


def article(word: str) -> str:
    """'an' before a vowel sound (by first letter), else 'a'."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _task(task: str) -> str:
    if task not in QUESTIONS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    return task


def recognition_question(
    task: str = "emotion", i: int = 0, prompt: str = "eai", candidates: Sequence[str] = ()
) -> str:
    """The recognition question for labels naming ``task``: with ``prompt`` eai, its ``i``-th phrasing
    (cyclic); with sugar, SUGAR's one question listing ``candidates`` (the labels to choose from)."""
    if prompt == "sugar":
        if not candidates:
            raise ValueError("the sugar prompt needs the candidate labels")
        listed = ", ".join(label_text(c) for c in candidates)
        return SUGAR_QUESTION.format(task=_task(task), labels=listed)
    if prompt not in PROMPTS:
        raise ValueError(f"llm.prompt must be one of {', '.join(PROMPTS)}, not {prompt!r}")
    qs = QUESTIONS[_task(task)]
    return qs[i % len(qs)]


def format_answer(label: str, fmt: str = "A", task: str = "emotion") -> str:
    """The recognition answer for ``label`` in format A ``[label]``, B short or C long sentence.

    The leading space makes the answer tokenise exactly as it would after ``#Assistant:``.
    """
    words = label_text(label)
    if fmt == "A":
        return f" {words}"
    if fmt == "B":
        return (
            f" This is {article(words)} {words} person." if task == "emotion" else f" This person is {words}."
        )
    if fmt == "C":
        return (
            " This is a 3D skeleton sequence of a person. From their movements, it can be observed "
            f"that their {_task(task)} is {words}."
        )
    raise ValueError(f"lora.answer_format must be one of {ANSWER_FORMATS}, not {fmt!r}")


def describe_question(label: str, task: str = "emotion") -> str:
    """The description prompt for a (given or predicted) label."""
    return DESCRIBE_QUESTIONS[_task(task)].format(label=label_text(label))
