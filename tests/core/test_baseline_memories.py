"""Replay's reservoir and A-GEM's episodic memory keep what their definitions say."""

from __future__ import annotations

import numpy as np

from dkvb_core.models.replay import EpisodicMemory, Reservoir, SlotSampler


def sequential_reservoir(stream: np.ndarray, slots: int, rng: np.random.Generator) -> np.ndarray:
    """The textbook reservoir, one sample at a time (one uniform draw a sample)."""
    buf = np.full(slots, -1)
    for n, row in enumerate(stream):
        u = rng.random()
        if n < slots:
            buf[n] = row
        elif (j := int(u * (n + 1))) < slots:
            buf[j] = row
    return buf


def test_reservoir_equals_the_sample_by_sample_definition():
    batch, steps, slots = 7, 400, 23  # more than one planning chunk, a batch that does not divide the slots
    rng = np.random.default_rng(0)
    stream = rng.permutation(batch * steps * 3)[: batch * steps].reshape(1, steps, batch)
    res = Reservoir(slots, [np.random.default_rng(11)], batch)
    for t in range(steps):
        res.add(stream[:, t], stream[:, t] % 5)
    expected = sequential_reservoir(stream.reshape(-1), slots, np.random.default_rng(11))
    np.testing.assert_array_equal(res.rows[0], expected)
    np.testing.assert_array_equal(res.y[0], expected % 5)


def test_reservoir_keeps_every_sample_with_the_same_probability():
    seeds, batch, steps, slots = 400, 10, 100, 50  # 1000 samples: each kept with probability 0.05
    res = Reservoir(slots, [np.random.default_rng([k, 1]) for k in range(seeds)], batch)
    stream = np.broadcast_to(np.arange(steps * batch).reshape(steps, 1, batch), (steps, seeds, batch))
    for t in range(steps):
        res.add(stream[t], stream[t])
    kept = np.zeros(steps * batch)
    for s in range(seeds):
        assert len(set(res.rows[s])) == slots  # distinct samples, so no slot was lost
        kept[res.rows[s]] += 1
    early, late = kept[:500].mean() / seeds, kept[500:].mean() / seeds
    assert abs(early - 0.05) < 0.006 and abs(late - 0.05) < 0.006


def test_slot_sampler_draws_distinct_filled_slots():
    sampler = SlotSampler([np.random.default_rng(3), np.random.default_rng(4)], 12)
    for filled in [1, 5, 12, 12, 3]:
        pick = sampler.draw(filled, min(4, filled))
        assert pick.shape == (2, min(4, filled))
        for row in pick:
            assert len(set(row)) == len(row) and row.max() < filled


def test_episodic_memory_shares_its_slots_between_the_stages_seen():
    labels = (np.arange(90) // 10)[None]  # 3 stages of 30 rows
    memory = EpisodicMemory(10, labels, [np.random.default_rng(0)])
    stages = [np.arange(30 * t, 30 * (t + 1)) for t in range(3)]
    memory.add_stage([stages[0]])
    assert memory.filled == 10 and set(memory.rows[0]) <= set(stages[0])
    first = memory.rows[0].copy()
    memory.add_stage([stages[1]])
    memory.add_stage([stages[2]])
    counts = [np.isin(memory.rows[0], st).sum() for st in stages]
    assert counts == [4, 3, 3]  # 10 slots over 3 stages: the remainder goes to the earliest
    assert memory.rows[0][:4].tolist() == first[:4].tolist()  # an earlier share shrinks, it is not redrawn
    assert len(set(memory.rows[0])) == 10
    np.testing.assert_array_equal(memory.y, labels[:, memory.rows[0]])
