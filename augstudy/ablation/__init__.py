"""Paired-seed ablations of the fixed CNN: the machinery behind ``augstudy ablate`` / :func:`augstudy.ablate`.

Sub-packages, in the order data flows through a study (import rules: ``tests/test_import_rules.py``):

- :mod:`.spec`: which configs run (spec files, their schema, composing two factors' levels, options);
- :mod:`.execution`: how one run trains and who trains the runs (train, executors, Ray, driver,
  checkpoints, TensorBoard, precision);
- :mod:`.storage`: the study folder (store, recovery, exporter, schema, the reader);
- :mod:`.analysis`: what the results mean (effects, the effect table, statistics);
- :mod:`.designs`: one module per study design, in one registry;
- :mod:`.plan`: how many seeds a question needs, before spending them;
- :mod:`.runner`: ``run_study``, the entry point that strings them together.
"""
