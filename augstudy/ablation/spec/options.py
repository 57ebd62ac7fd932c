"""``StudyOptions``: every option of one study, validated once, for ``augstudy ablate`` and :func:`augstudy.ablate`.

The CLI (:mod:`augstudy.cli.ablate`) and the API (:mod:`augstudy.api.ablation`) differ only in how they
collect the values: the CLI from click's parsed flags, the API from its keyword arguments.  Both call
:meth:`StudyOptions.collect`, which validates them here and turns the first problem into ONE
:class:`~augstudy.errors.UserError` line naming the option as that caller spells it (``--max-seeds`` on
the command line, ``max_seeds`` in Python) and saying the fix.  :func:`~augstudy.ablation.runner.run_study`
receives the frozen object and checks nothing again.

This module is also the home of the option value sets other modules use: :data:`METRICS`,
:data:`PRECISIONS`, :data:`EXECUTORS`, :data:`DEFAULT_CHECKPOINT_EVERY_S`, :data:`DEFAULT_MAX_RETRIES`.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from augstudy.errors import UserError

# ----------------------------------------------------------------------------- value sets and defaults
#: the per-run selection metric (``--metric``): name -> what it means
METRICS = {
    "last3": "mean val accuracy over the last 3 epochs",
    "best": "best (peak) val accuracy over all epochs",
    "final": "val accuracy at the last epoch",
}
#: ``--precision``: ``auto`` resolves per device (bf16 on CUDA and on CPUs with native bf16, else fp32)
PRECISIONS = ("auto", "fp32", "bf16")
#: ``--executor``: who trains the runs
EXECUTORS = ("local", "ray")
#: ``--checkpoint-every``: seconds between a run's checkpoints (0: every epoch end)
DEFAULT_CHECKPOINT_EVERY_S = 120.0
#: ``--max-retries``: resubmissions of a Ray run whose worker died
DEFAULT_MAX_RETRIES = 2
#: ``--device``: auto, cpu, cuda or cuda:K
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"
SEEDS_AUTO = "auto"

MetricName = Literal[tuple(METRICS)]  # type: ignore[valid-type]
PrecisionName = Literal[PRECISIONS]  # type: ignore[valid-type]
ExecutorName = Literal[EXECUTORS]  # type: ignore[valid-type]


# ----------------------------------------------------------------------------- how a caller names options
@dataclass(frozen=True)
class Naming:
    """How one caller spells options in its messages.

    ``style="flag"``: ``--max-seeds 3`` (``names`` maps a field to its flag or argument);
    ``style="keyword"``: ``max_seeds=3`` (a field's own name unless ``names`` says otherwise).
    """

    style: Literal["flag", "keyword"] = "keyword"
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def show(self, key: str, value: Any) -> str:
        """The option with a value, as this caller would have written it."""
        if self.style == "flag":   # as typed; an empty or blank text quoted, so it shows
            return f"{self.name(key)} {value!r}" if isinstance(value, str) and not value.strip() else \
                f"{self.name(key)} {value}"
        return f"{self.name(key)}={value!r}" if isinstance(value, str) else f"{self.name(key)}={value}"


#: the Python API's naming: keywords (``seeds=0``)
KEYWORDS = Naming()


class _Named:
    """One option inside a message template: ``{seeds}`` -> ``--seeds 0`` / ``seeds=0``, ``{seeds.name}``
    -> ``--seeds`` / ``seeds``, ``{seeds:auto}`` -> ``--seeds auto`` / ``seeds='auto'``."""

    def __init__(self, key: str, value: Any, naming: Naming):
        self.key, self.value, self.naming = key, value, naming

    @property
    def name(self) -> str:
        return self.naming.name(self.key)

    def __format__(self, spec: str) -> str:
        return self.naming.show(self.key, spec if spec else self.value)


class OptionError(ValueError):
    """A validator's refusal: ``template`` uses ``{field}`` placeholders (see :class:`_Named`); None
    means "the field's rule" (``{field}: <rule>``)."""

    def __init__(self, template: str | None = None):
        super().__init__(template or "invalid option")
        self.template = template


def _is_whole(value: Any) -> bool:
    """An integer (a numpy one too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _quoted(value: Any) -> str:
    """``repr(value)`` safe inside a message template."""
    return repr(value).replace("{", "{{").replace("}", "}}")


def _option(default: Any, rule: str, **constraints: Any) -> Any:
    """A field with its rule: the fix a refusal states, a template like :class:`OptionError`'s."""
    return Field(default, json_schema_extra={"rule": rule}, **constraints)


# ----------------------------------------------------------------------------- the options
class StudyOptions(BaseModel):
    """Every option of one study (``augstudy ablate`` / :func:`augstudy.ablate`), validated.

    ``seeds``: a count N (seeds 0..N-1), ``"auto"`` (start with ``start_seeds``, add ``seed_batch``
    seeds at a time to the undecided arms, at most ``max_seeds``) or explicit distinct non-negative
    seeds.  ``sesoi``: accuracy points (None: the study spec's, else 1.0).  ``checkpoint_every``:
    seconds.  ``model``: the text a run config stores for the API's ``model`` (applied over
    ``budget_override``, see :attr:`arm_override`).  The runtime objects that are not options (an
    in-memory dataset, an executor object, ``echo``) are separate arguments of ``run_study``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str = _option(..., "name a factor (see `augstudy ablate --list`) or `all`", min_length=1, strict=True)
    by: str | None = _option(None, "name a second factor (see `augstudy ablate --list`)", min_length=1,
                             strict=True)
    seeds: int | Literal["auto"] | tuple[int, ...] = _option(3, "must be a number of seeds, explicit seeds or auto")
    start_seeds: int = _option(3, "{seeds:auto} needs at least 2 seeds to start (a paired interval needs 2)",
                               ge=2, strict=True)
    max_seeds: int = _option(20, "must be a whole number of seeds, at least 2", ge=2, strict=True)
    seed_batch: int = _option(2, "must be at least 1", ge=1, strict=True)
    sesoi: float | None = _option(None, "must be a number of accuracy points in (0, 100)", gt=0, lt=100,
                                  allow_inf_nan=False, strict=True)
    budget: str = _option("smoke", "must name a budget of the specs (smoke, short, full, ...)", min_length=1,
                          strict=True)
    data: str | None = _option(None, "must be a dataset folder (leave it out for the default dataset)",
                               min_length=1, strict=True)
    device: str = _option("auto", "must be auto, cpu, cuda or cuda:K", pattern=DEVICE_PATTERN, strict=True)
    metric: MetricName = _option("last3", f"must be one of {', '.join(METRICS)}")
    out: Path | None = _option(None, "must name a folder, not a file (default: reports/<factor>-<dataset>/)")
    specs_dir: Path | None = _option(None, "must name a folder of study specs, not a file")
    model: str | None = _option(None, "must be a model name or a callable returning an nn.Module")
    budget_override: dict[str, Any] | None = _option(None, "must be a dict merged over the budget's config")
    report: bool = _option(True, "must be True or False", strict=True)
    prune_checkpoints: bool = _option(False, "must be True or False", strict=True)
    keep_checkpoints: bool = _option(False, "must be True or False", strict=True)
    checkpoint_every: float = _option(DEFAULT_CHECKPOINT_EVERY_S,
                                      "must be a number of seconds >= 0 (0: at every epoch end)", ge=0,
                                      allow_inf_nan=False, strict=True)
    precision: PrecisionName = _option("auto", f"must be one of {', '.join(PRECISIONS)}")
    compile: bool = _option(False, "must be True or False", strict=True)
    executor: ExecutorName = _option("local", f"must be {' or '.join(EXECUTORS)}")
    ray_address: str | None = _option(None, "must be auto or HOST:PORT of a running Ray head", min_length=1,
                                      strict=True)
    gpus_per_run: float | None = _option(None, "must be a number of GPUs >= 0 (fractions share a GPU)", ge=0,
                                         allow_inf_nan=False, strict=True)
    max_retries: int = _option(DEFAULT_MAX_RETRIES, "must be a whole number >= 0", ge=0, strict=True)
    allow_data_errors: bool = _option(False, "must be True or False", strict=True)

    # -- one field at a time -----------------------------------------------------------
    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        """A count >= 1, ``"auto"``, or a non-empty sequence of distinct non-negative ints (a tuple)."""
        if isinstance(value, str) and value == SEEDS_AUTO:
            return value
        if _is_whole(value):
            if value < 1:
                raise OptionError("{seeds}: need at least 1 seed")
            return int(value)
        if not isinstance(value, (list, tuple, range)):
            raise OptionError("{seeds.name}: %s is neither a number of seeds nor auto" % _quoted(value))
        if not value or not all(_is_whole(s) and s >= 0 for s in value) or len(set(value)) != len(value):
            raise OptionError("{seeds}: need at least 1 distinct non-negative seed")
        return tuple(int(s) for s in value)

    @field_validator("data", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("out", "specs_dir", mode="before")
    @classmethod
    def _folder(cls, value: Any) -> Any:
        """A folder path: not empty (``Path("")`` would be the working directory), not an existing file."""
        if isinstance(value, (str, os.PathLike)) and (os.fspath(value) == "" or Path(value).is_file()):
            raise OptionError()
        return value

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        """A ``torch.device`` is its text (``cuda:0``)."""
        return str(value) if not isinstance(value, str) and hasattr(value, "type") else value

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        """The text a run config stores: a checked name, or ``module:qualname`` of a callable (a
        UserError of its own, naming the model, when neither)."""
        if value is None:
            return None
        from augstudy.models.knobs import model_reference

        return model_reference(value)

    # -- options that depend on each other ---------------------------------------------
    @model_validator(mode="after")
    def _together(self) -> "StudyOptions":
        from augstudy.ablation.spec.study_spec import ALL_FACTORS   # here: --help of the CLI stays light

        if self.by is not None:
            if ALL_FACTORS in (self.factor, self.by):
                raise OptionError("{by.name}: a two-factor study crosses two named factors; `all` is not one "
                                  "(run `augstudy ablate all` for every factor alone, or name two factors)")
            if self.factor == self.by:
                raise OptionError("{by}: the same factor as {factor.name}; name a different factor "
                                  "(see `augstudy ablate --list`)")
        if self.seeds == SEEDS_AUTO and self.max_seeds < self.start_seeds:
            raise OptionError("{max_seeds} is below {start_seeds}; raise {max_seeds.name}")
        if self.prune_checkpoints and self.keep_checkpoints:
            raise OptionError("{prune_checkpoints.name} and {keep_checkpoints.name} contradict each other; "
                              "pass one of them")
        if self.executor == "local":
            given = [key for key in ("ray_address", "gpus_per_run") if getattr(self, key) is not None]
            if given:
                raise OptionError(", ".join("{%s.name}" % key for key in given)
                                  + " only apply with {executor:ray}")
        return self

    # -- what the runner reads ---------------------------------------------------------
    @property
    def auto_seeds(self) -> bool:
        """``seeds == "auto"``: group-sequential seeds (:mod:`augstudy.ablation.execution.seeds_auto`)."""
        return self.seeds == SEEDS_AUTO

    @property
    def seed_list(self) -> list[int]:
        """The seeds to register first: 0..N-1 for a count, the given ones, or ``start_seeds`` under auto."""
        if self.seeds == SEEDS_AUTO:
            return list(range(self.start_seeds))
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    @property
    def arm_override(self) -> dict | None:
        """``budget_override`` with ``model`` (when given) as every arm's ``model.name``."""
        if self.model is None:
            return self.budget_override
        from augstudy.ablation.spec.study_spec import deep_merge

        return deep_merge(self.budget_override or {}, {"model": {"name": self.model}})

    # -- building one ------------------------------------------------------------------
    @classmethod
    def collect(cls, values: Mapping[str, Any], naming: Naming = KEYWORDS) -> "StudyOptions":
        """Validate ``values`` (field -> value; missing ones take their defaults); a refusal is ONE
        UserError line naming the option as ``naming`` spells it."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise UserError(describe_error(exc, values, naming)) from None


# ----------------------------------------------------------------------------- errors -> one line
def field_rule(key: str) -> str:
    """The rule (a template) of field ``key``."""
    return StudyOptions.model_fields[key].json_schema_extra["rule"]  # type: ignore[index]


def describe_error(exc: ValidationError, values: Mapping[str, Any], naming: Naming = KEYWORDS) -> str:
    """The one line for the first problem of ``exc``: an unknown option first, then in field order."""
    order = list(StudyOptions.model_fields)
    errors = exc.errors(include_url=False)

    def rank(err: dict) -> tuple:
        top = str(err["loc"][0]) if err["loc"] else ""
        return (err["type"] != "extra_forbidden", order.index(top) if top in order else len(order))

    err = sorted(errors, key=rank)[0]
    given = {key: values.get(key, info.default) for key, info in StudyOptions.model_fields.items()}
    named = {key: _Named(key, value, naming) for key, value in given.items()}
    key = str(err["loc"][0]) if err["loc"] else ""
    if err["type"] == "extra_forbidden":
        known = ", ".join(naming.name(k) for k in order)
        return f"{naming.show(key, err.get('input'))}: unknown option (the options: {known})"
    cause = (err.get("ctx") or {}).get("error")
    template = cause.template if isinstance(cause, OptionError) else None
    if template is not None:
        return template.format(**named)
    rule = field_rule(key).format(**named)
    if given.get(key) is None and StudyOptions.model_fields[key].is_required():
        return f"missing {naming.name(key)}: {rule}"
    return f"{naming.show(key, given.get(key))}: {rule}"


def option_names(naming: Naming = KEYWORDS) -> list[str]:
    """Every option as ``naming`` spells it, in field order."""
    return [naming.name(k) for k in StudyOptions.model_fields]


__all__ = ["StudyOptions", "Naming", "KEYWORDS", "OptionError", "describe_error", "field_rule", "option_names",
           "METRICS", "PRECISIONS", "EXECUTORS", "DEFAULT_CHECKPOINT_EVERY_S", "DEFAULT_MAX_RETRIES",
           "DEVICE_PATTERN", "SEEDS_AUTO"]
