"""The streaming loader: disjoint shards over ranks x workers, exact continuation, padding."""

from __future__ import annotations

import itertools

import pytest

from olmoasr.train.data import IGNORE_INDEX, SegmentStream, StreamSpec, find_data_files, make_loader


def spec_for(data, **changes):
    values = {"files": [str(f) for f in find_data_files(data)], "batch_size": 2, "seed": 3, "shuffle": True,
              "shuffle_buffer": 4}  # fmt: skip
    values.update(changes)
    return StreamSpec(**values)


def take(spec, batches, worker_ids=None):
    """Batches of one rank as the DataLoader would deal them (round-robin over its workers)."""
    streams = []
    for w in range(spec.workers):
        stream = SegmentStream(spec)
        stream_iter = _as_worker(stream, w)
        streams.append(stream_iter)
    out = []
    for i in range(batches):
        out.append(next(streams[i % spec.workers]))
    return out


def _as_worker(stream, loader_worker):
    import olmoasr.train.data as data_module

    class Info:
        id = loader_worker

    original = data_module.get_worker_info
    data_module.get_worker_info = lambda: Info()
    try:
        iterator = iter(stream)
        first = next(iterator)
    finally:
        data_module.get_worker_info = original
    return itertools.chain([first], iterator)


@pytest.mark.parametrize(("world", "workers"), [(1, 1), (2, 1), (2, 2), (3, 1)])
def test_ranks_and_workers_read_disjoint_lines_covering_the_epoch(mix16, world, workers):
    seen = []
    per_stream = 16 // (world * workers)
    for rank in range(world):
        spec = spec_for(mix16, rank=rank, world_size=world, num_workers=workers, batch_size=1)
        for batch in take(spec, per_stream * workers):
            assert batch["state"][1] == 0  # still epoch 0
            seen.extend(batch["keys"])
    assert len(seen) == len(set(seen)) == per_stream * world * workers
    assert set(seen) <= {(0, line) for line in range(1, 17)}


def test_with_enough_shards_each_stream_reads_only_its_own_files(tmp_path):
    from .conftest import make_mix

    data = make_mix(tmp_path, n=16, files=4)
    seen = {}
    for rank in range(2):
        spec = spec_for(data, rank=rank, world_size=2, batch_size=8)
        seen[rank] = take(spec, 1)[0]["keys"]
    files = [{f for f, _ in keys} for keys in seen.values()]
    assert len(files[0]) == len(files[1]) == 2 and not files[0] & files[1]  # whole files, disjoint
    assert len(set(seen[0]) | set(seen[1])) == 16


def test_resume_position_continues_with_exactly_the_next_batch(mix16):
    spec = spec_for(mix16, num_workers=2)
    straight = take(spec, 12)  # crosses into epoch 1 (8 records per stream, 4 batches of 2 per epoch)
    assert {b["state"][1] for b in straight} == {0, 1}
    consumed = straight[:5]
    positions = {}
    for batch in consumed:
        worker, epoch, position = batch["state"]
        positions[worker] = (epoch, position)
    next_worker = (consumed[-1]["state"][0] + 1) % 2
    resumed = take(spec_for(mix16, num_workers=2, positions=positions, first_worker=next_worker), 7)
    assert [b["keys"] for b in resumed] == [b["keys"] for b in straight[5:]]
    assert [b["timestamps"] for b in resumed] == [b["timestamps"] for b in straight[5:]]


def test_epochs_reshuffle_and_the_one_coin_does_not_depend_on_the_reader(mix16):
    one = take(spec_for(mix16, batch_size=16), 2)
    assert sorted(one[0]["keys"]) == sorted(one[1]["keys"]) == [(0, line) for line in range(1, 17)]
    assert one[0]["keys"] != one[1]["keys"]  # epoch 1 is a new order
    by_key = dict(zip(one[0]["keys"], one[0]["timestamps"], strict=True))
    for rank in range(2):
        batch = take(spec_for(mix16, batch_size=8, rank=rank, world_size=2), 1)[0]
        assert all(by_key[k] == ts for k, ts in zip(batch["keys"], batch["timestamps"], strict=True))


def test_token_rows_are_padded_to_the_batch_maximum_and_clips_keep_their_length(mix16):
    batch = take(spec_for(mix16, batch_size=4, shuffle=False, timestamp_prob=0.0), 1)[0]
    lengths = (batch["targets"] != IGNORE_INDEX).sum(dim=1)
    assert batch["inputs"].shape == batch["targets"].shape
    assert batch["inputs"].shape[1] == int(lengths.max()) < 448
    assert max(len(c) for c in batch["clips"]) < 30 * 16000  # clips as they are (the log-mel pads them)
    assert (batch["inputs"][:, 0] == 50257).all() and (batch["inputs"][:, 1] == 50362).all()


def test_dataloader_workers_deal_batches_round_robin(mix16):
    loader = make_loader(spec_for(mix16, num_workers=2, batch_size=2))
    states = [b["state"][0] for b in itertools.islice(iter(loader), 4)]
    assert states == [0, 1, 0, 1]


@pytest.mark.parametrize("policy", ["mel", "audio", "mixed"])
def test_each_clip_carries_its_padding_and_mixed_draws_it_per_sample(mix16, policy):
    one = take(spec_for(mix16, batch_size=16, feature_padding=policy), 2)
    pads = [pad for batch in one for pad in batch["pads"]]
    assert set(pads) == ({"mel", "audio"} if policy == "mixed" else {policy})
    if policy == "mixed":  # the same sample gets the same padding whichever rank reads it
        by_key = dict(zip(one[0]["keys"], one[0]["pads"], strict=True))
        batch = take(spec_for(mix16, batch_size=8, rank=1, world_size=2, feature_padding=policy), 1)[0]
        assert all(by_key[k] == pad for k, pad in zip(batch["keys"], batch["pads"], strict=True))
