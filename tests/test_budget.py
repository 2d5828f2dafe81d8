"""Training to a time budget: durations, the epoch choice, the recorded decision, resume."""

import dataclasses
import json
import shutil

import keras
import pytest

from keras_shufflenet.pipelines import budget, checkpoint, files, history, recipes
from keras_shufflenet.pipelines.budget import Measurement, choose_epochs, parse_duration
from keras_shufflenet.pipelines.run_dir import RunDir
from keras_shufflenet.pipelines.schedules import make_schedule
from keras_shufflenet.pipelines.train import (
    DataConfig,
    RuntimeConfig,
    TrainConfig,
    train,
    validation_epochs,
)

TINY = recipes.DIGITS.replace(epochs=2, batch_size=32)
# 50 s of training per epoch, 4 s per validation, 70 s spent by the end of epoch 1, and
# 2 + 6 + SAVE_SECONDS for the final evaluation and saving.
MEASURED = Measurement(
    step_seconds=0.5, steps_measured=95, steps_per_epoch=100, validation_seconds=4.0,
    first_validation_seconds=6.0, elapsed_seconds=70.0, build_seconds=2.0,
)


def every(n):
    return lambda epochs: set(validation_epochs(n, epochs)) | {1}


def test_durations():
    assert parse_duration("60m") == 3600.0
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("2.5h") == 9000.0
    assert parse_duration("90s") == parse_duration("90") == parse_duration(90) == 90.0
    for bad in ("", "soon", "1d", "-5m", 0, -3, True, float("inf")):
        with pytest.raises(ValueError, match="budget"):
            parse_duration(bad)
    assert budget.format_duration(3723) == "1h02m03s" and budget.format_duration(12.34) == "12.3s"


def test_the_epoch_count_follows_from_the_measured_times():
    tail = 2.0 + 6.0 + budget.SAVE_SECONDS
    limit = 700 * (1 - budget.RESERVE)
    # Validating every epoch, each later epoch costs 54 s: 70 + 54 * (E - 1) + tail <= limit.
    decision = choose_epochs(700, MEASURED, every(1))
    assert decision.epochs == 1 + int((limit - 70 - tail) // 54) == 11
    assert decision.projected_seconds == pytest.approx(70 + 10 * 54 + tail)
    # Validating only the first epoch (eval_every=0), each later epoch costs 50 s.
    assert choose_epochs(700, MEASURED, lambda epochs: {1}).epochs == 1 + int((limit - 70 - tail) // 50) == 12
    # Every 5th epoch and the last: 12 epochs validate at 1, 5, 10 and 12.
    twelve = choose_epochs(700, MEASURED, every(5))
    assert twelve.epochs == 12 and twelve.projected_seconds == pytest.approx(70 + 11 * 50 + 3 * 4 + tail)
    assert "12 epochs fit the budget of 11m40s" in twelve.reason and "500.0 ms/step" in twelve.reason
    # A step twice as slow halves what fits after the first epoch.
    slow = dataclasses.replace(MEASURED, step_seconds=1.0)
    assert choose_epochs(700, slow, lambda epochs: {1}).epochs == 1 + int((limit - 70 - tail) // 100)


def test_a_budget_too_small_for_one_epoch_says_so():
    decision = choose_epochs(60, MEASURED, every(1))
    assert decision.epochs == 1 and decision.projected_seconds > 60
    assert "even 1 epoch overruns the budget of 1m00s" in decision.reason
    assert choose_epochs(60, MEASURED, every(1), min_epochs=3).epochs == 3


def test_bad_budget_configs(tmp_path):
    with pytest.raises(ValueError, match="60m"):
        TrainConfig(model_dir="x", recipe=TINY, time_budget="an hour")
    with pytest.raises(ValueError, match="warmup_epochs=0.0: set it to 1"):
        TrainConfig(model_dir="x", recipe="imagenet", time_budget="60m")
    with pytest.raises(ValueError, match="multi_worker"):
        TrainConfig(model_dir="x", runtime=RuntimeConfig(strategy="multi_worker"), time_budget=60)
    assert TrainConfig(model_dir="x", time_budget="2m").time_budget == 120.0

    # A run started with a fixed number of epochs cannot switch to a budget.
    ckpt = RunDir(tmp_path).checkpoints
    tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint.save(tiny, ckpt, epoch=1, fingerprint={})
    with pytest.raises(ValueError, match="started without a time budget"):
        train(TrainConfig(model_dir=str(tmp_path), recipe=TINY, time_budget="1m"))


class Snapshot(keras.callbacks.Callback):
    """Copies the model directory after epoch `after` (its checkpoint saved): a run killed there."""

    def __init__(self, source, target, after):
        super().__init__()
        self.source, self.target, self.after = source, target, after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            shutil.copytree(self.source, self.target)


def schedule_at_epoch_ends(epochs, steps_per_epoch=3):
    schedule = make_schedule(TINY.replace(epochs=epochs), steps_per_epoch, TINY.batch_size)
    return [float(schedule(steps_per_epoch * e)) for e in range(1, epochs + 1)]


def test_a_budget_run_chooses_its_epochs_from_the_measured_step_time(tmp_path):
    """A real run on a budget of 25 s: not a timed test, the slack is generous."""
    run = tmp_path / "run"
    config = TrainConfig(
        model_dir=str(run), recipe=TINY, data=DataConfig(limit=96, eval_limit=32),  # 3 steps, 1 to validate
        eval_every=2, time_budget="25s", verbose=0,
    )
    result = train(config)

    decision = result.budget
    assert budget.read_decision(RunDir(run).budget) == decision
    m = decision.measurement
    assert (m.steps_per_epoch, m.steps_measured) == (3, 2)  # the first step (tracing) left out
    record = history.read_history(run / "history.csv")
    assert 0 < m.steps_per_epoch * m.step_seconds <= record["seconds"][0]
    assert 0 < m.validation_seconds <= m.first_validation_seconds
    # The choice is the one the recorded measurement gives.
    assert decision == choose_epochs(25.0, m, every(2), min_epochs=1)
    epochs = decision.epochs
    assert f"{epochs} epoch" in decision.reason
    assert record["epoch"] == list(range(1, epochs + 1))
    validated = [e for e, v in zip(record["epoch"], record["val_accuracy"]) if v is not None]
    assert validated == sorted(every(2)(epochs))  # the first (timed), every 2nd and the last
    assert record["learning_rate"] == pytest.approx(schedule_at_epoch_ends(epochs))
    saved = json.loads((run / "result.json").read_text())
    assert saved["epochs"] == epochs and saved["time_budget"]["reason"] == decision.reason
    if decision.projected_seconds <= 25.0:
        assert result.seconds < 2 * 25.0 + 10, "far over a budget the projection met"


def test_a_resumed_budget_run_keeps_the_recorded_schedule_and_end(tmp_path, monkeypatch, caplog):
    """The rest of the run follows the decision (here fixed at 4 epochs, whatever this machine's
    speed); a run killed after epoch 2 and started again with another budget keeps it."""
    choose = budget.choose_epochs

    def four(*args, **kwargs):
        return dataclasses.replace(choose(*args, **kwargs), epochs=4)

    monkeypatch.setattr(budget, "choose_epochs", four)
    run, killed = tmp_path / "run", tmp_path / "killed"
    config = TrainConfig(
        model_dir=str(run), recipe=TINY, data=DataConfig(limit=96, eval_limit=32), eval_every=0,
        time_budget="20s", verbose=0, callbacks=(Snapshot(run, killed, after=2),),
    )
    result = train(config)
    record = history.read_history(run / "history.csv")
    assert result.budget.epochs == 4 and record["epoch"] == [1, 2, 3, 4]
    # Warmup in epoch 1 (timed with the recipe's provisional 2 epochs), then the decay over 4.
    assert record["learning_rate"] == pytest.approx(schedule_at_epoch_ends(4))
    # (The provisional schedule would have reached 0 at the end of epoch 2.)
    assert record["learning_rate"][1] == pytest.approx(TINY.scaled_learning_rate() * 2 / 3)
    assert record["learning_rate"][-1] == 0.0
    assert [v is not None for v in record["val_accuracy"]] == [True, False, False, False]

    assert checkpoint.read_state(killed / "checkpoints")["epoch"] == 2
    with caplog.at_level("INFO", logger="absl"):  # an earlier absl program may have set its level
        resumed = train(dataclasses.replace(config, model_dir=str(killed), time_budget="1h", callbacks=()))
    assert "keeping the recorded 20.0s and its end point" in caplog.text
    assert "keeping the recorded decision, 4 epochs in all" in caplog.text
    assert resumed.initial_epoch == 2 and resumed.budget == result.budget
    again = history.read_history(killed / "history.csv")
    assert again["epoch"] == [1, 2, 3, 4]
    assert again["learning_rate"] == pytest.approx(record["learning_rate"])
    assert json.loads((killed / "result.json").read_text())["epochs"] == 4
    assert files.read_json(killed / "budget.json") == files.read_json(run / "budget.json")
