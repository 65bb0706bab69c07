"""Local evaluation data: manifests, the documented layouts of paid/manual sets, and the one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from olmoasr.audio import write_audio
from olmoasr.errors import HubUnavailableError, UsageError
from olmoasr.evaluation import get_set
from olmoasr.evaluation.local import clean_coraal_text
from olmoasr.evaluation.sources import AudioDecoder, AudioSlice, DataOptions, open_eval_set, open_manifest

from .helpers import sine


def write_stereo_wav(path: Path, left: np.ndarray, right: np.ndarray) -> Path:
    frames = np.stack([left, right], axis=1)
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return path


def test_manifest_relative_paths_and_bad_rows(tmp_path, capsys):
    (tmp_path / "clips").mkdir()
    write_audio(tmp_path / "clips" / "a.wav", sine(1.0))
    lines = [
        json.dumps({"audio": "clips/a.wav", "text": "hello there", "id": "first"}),
        "{not json",
        json.dumps({"audio": str(tmp_path / "clips" / "a.wav"), "text": "absolute path"}),
        json.dumps({"text": "no audio"}),
        json.dumps({"audio": "clips/missing.wav", "text": "missing file"}),
    ]
    manifest = tmp_path / "test.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    data = open_manifest(manifest)
    rows = list(data.utterances)
    assert [r.id for r in rows] == ["first", "test:3", "test:4", "test:5"]
    assert rows[0].audio == str(tmp_path / "clips" / "a.wav") and rows[0].problem is None
    assert rows[1].problem is None
    assert "no 'audio' field" in rows[2].problem
    assert rows[3].problem is None  # a missing file is found when decoding, and counted then
    assert "test.jsonl:2: malformed JSON" in capsys.readouterr().err


def test_missing_manifest_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="manifest not found"):
        open_manifest(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("name", ["wsj", "callhome", "common_voice", "artie", "coraal", "chime6", "long:kincaid46"])
def test_manual_set_without_data_root_says_how_to_get_it(name, tmp_path):
    entry = get_set(name)
    with pytest.raises(UsageError) as err:
        open_eval_set(entry, DataOptions())
    message = str(err.value)
    assert "\n" not in message and entry.obtain in message and "--data-root" in message
    with pytest.raises(UsageError) as err:
        open_eval_set(entry, DataOptions(data_root=str(tmp_path)))
    assert str(tmp_path / entry.source.folder) in str(err.value) and entry.obtain in str(err.value)


def test_offline_hub_set_is_one_clear_line():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    pytest.importorskip("datasets")
    with pytest.raises(HubUnavailableError) as err:
        open_eval_set(get_set("librispeech_clean"), DataOptions(streaming=True))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("librispeech_clean: cannot load openslr/librispeech_asr [clean/test]: the Hugging Face")
    assert "HF_HUB_OFFLINE is set; unset it to download" in message and "--data-root" in message


def test_cli_offline_hub_error_is_one_line_without_traceback(tmp_path):
    pytest.importorskip("datasets")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    code = (
        "import sys, torch\n"
        "from olmoasr.evaluation import evaluate, EvalOptions\n"
        "from olmoasr.cli.main import run\n"
        "import olmoasr.evaluation.api as api\n"
        "class Fake:\n"
        "    device = 'cpu'\n"
        "    def short_form(self, b): return ['x'] * len(b)\n"
        "    def long_form(self, a): return 'x'\n"
        "    def synchronize(self): pass\n"
        "api.load_recognizer = lambda *a, **k: Fake()\n"
        f"sys.exit(run(['eval', '--model', 'tiny', '--sets', 'voxpopuli', '-q', '-o', r'{tmp_path}']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr  # the set's failure, said once: no warning repeating the error
    assert lines[0].startswith("error: voxpopuli: cannot load hf-audio/esb-datasets-test-only-sorted [voxpopuli/test]")
    assert "Traceback" not in proc.stderr


def test_wsj_kaldi_dir_never_runs_the_pipeline(tmp_path):
    root = tmp_path / "wsj"
    root.mkdir()
    write_audio(tmp_path / "a.wav", sine(1.0))
    os.replace(tmp_path / "a.wav", root / "a.wv1")  # WAV content under the WSJ suffix
    write_audio(root / "b.wav", sine(0.5))
    (root / "wav.scp").write_text(f"u1 /usr/bin/sph2pipe -f wav {root / 'a.wv1'} |\nu2 b.wav\n")
    (root / "text").write_text("u1 THE FIRST ONE\nu2 SECOND\nu3 NO AUDIO\n")
    rows = list(open_eval_set(get_set("wsj"), DataOptions(data_root=str(tmp_path))).utterances)
    assert [(r.id, r.reference, r.audio) for r in rows[:2]] == [
        ("u1", "THE FIRST ONE", str(root / "a.wv1")),
        ("u2", "SECOND", str(root / "b.wav")),
    ]
    assert "u3 has no wav.scp entry" in rows[2].problem
    decode = AudioDecoder()
    assert len(decode(rows[0].audio, "u1")) == 16000


def test_hub5_stm_splits_callhome_and_switchboard_and_cuts_the_channel(tmp_path):
    root = tmp_path / "hub5_2000"
    (root / "2000_hub5_eng_eval_tr" / "reference").mkdir(parents=True)
    (root / "hub5e_00" / "english").mkdir(parents=True)
    left, right = sine(4.0, 200.0), np.zeros(64000, dtype=np.float32)
    right[16000:32000] = 0.5
    write_stereo_wav(root / "hub5e_00" / "english" / "en_4156.sph", left, right)
    write_stereo_wav(root / "hub5e_00" / "english" / "sw_4390.sph", left, right)
    (root / "2000_hub5_eng_eval_tr" / "reference" / "hub5e00.english.000405.stm").write_text(
        ";; comment line\n"
        "en_4156 B en_4156_B 1.00 2.00 <O,en,F,en-F> yeah (( uh )) right\n"
        "en_4156 A en_4156_A 0.00 1.50 <O,en,F,en-F> hello there\n"
        "en_4156 A en_4156_A 2.00 3.00 <O,en,F,en-F> ignore_time_segment_in_scoring\n"
        "sw_4390 A sw_4390_A 0.50 1.00 <O,en,M,en-M> switchboard words\n"
    )
    callhome = list(open_eval_set(get_set("callhome"), DataOptions(data_root=str(tmp_path))).utterances)
    switchboard = list(open_eval_set(get_set("switchboard"), DataOptions(data_root=str(tmp_path))).utterances)
    assert [u.reference for u in callhome] == ["hello there", "ignore_time_segment_in_scoring", "yeah (( uh )) right"]
    assert [u.reference for u in switchboard] == ["switchboard words"]
    decode = AudioDecoder()
    cut = decode(callhome[2].audio, callhome[2].id)
    assert callhome[2].audio == AudioSlice(str(root / "hub5e_00/english/en_4156.sph"), 1.0, 2.0, 1)
    assert len(cut) == 16000 and np.abs(cut).min() > 0.45  # channel B, 1-2 s: the constant 0.5
    first = decode(callhome[0].audio, callhome[0].id)
    assert len(first) == 24000 and np.allclose(first[:8000], left[:8000], atol=1e-3)


def test_chime6_json_cut_from_worn_microphone(tmp_path):
    root = tmp_path / "chime6"
    (root / "transcriptions" / "eval").mkdir(parents=True)
    (root / "audio" / "eval").mkdir(parents=True)
    write_audio(root / "audio" / "eval" / "S01_P01.wav", sine(3.0))
    rows = [
        {"session_id": "S01", "speaker": "P01", "start_time": "0:00:01.50", "end_time": "0:00:02.00", "words": "b"},
        {"session_id": "S01", "speaker": "P01", "start_time": "0:00:00.00", "end_time": "0:00:01.00", "words": "a"},
        {"session_id": "S01", "speaker": "P02", "start_time": "0:00:00.00", "end_time": "0:00:01.00", "words": "c"},
        {"speaker": "P01"},
    ]
    (root / "transcriptions" / "eval" / "S01.json").write_text(json.dumps(rows))
    utts = list(open_eval_set(get_set("chime6"), DataOptions(data_root=str(tmp_path))).utterances)
    assert [u.reference for u in utts] == ["", "a", "b", "c"]
    assert "malformed" in utts[0].problem and "S01_P02.wav not found" in utts[3].problem
    assert utts[2].id == "S01_P01_0001500_0002000"
    assert len(AudioDecoder()(utts[2].audio, utts[2].id)) == 8000


def test_common_voice_artie_coraal_kincaid_layouts(tmp_path):
    cv = tmp_path / "common_voice_5_1" / "en"
    (cv / "clips").mkdir(parents=True)
    write_audio(cv / "clips" / "x.mp3", sine(1.0))
    (cv / "test.tsv").write_text("client_id\tpath\tsentence\tup_votes\nabc\tx.mp3\tA sentence.\t2\n")
    artie = tmp_path / "artie_bias_corpus"
    (artie / "data").mkdir(parents=True)
    write_audio(artie / "data" / "y.mp3", sine(1.0))
    (artie / "artie-bias-corpus.tsv").write_text("client_id\tpath\tsentence\nabc\ty.mp3\tArtie says hi.\n")
    coraal = tmp_path / "coraal"
    (coraal / "CORAAL_audio" / "DCA").mkdir(parents=True)
    write_audio(coraal / "CORAAL_audio" / "DCA" / "seg1.wav", sine(1.0))
    (coraal / "CORAAL_transcripts.csv").write_text(
        "segment_filename,speaker,source,content\nseg1.wav,s1,DCA,I aks about the busses /inaudible/ (laughing)\n"
    )
    kincaid = tmp_path / "kincaid46"
    (kincaid / "audio").mkdir(parents=True)
    write_audio(kincaid / "audio" / "00.m4a", sine(1.0))
    (kincaid / "text.csv").write_text("a,b,c,d,e,transcript\n1,2,3,4,5,The whole recording.\n")
    options = DataOptions(data_root=str(tmp_path))
    got = {
        name: list(open_eval_set(get_set(name), options).utterances)
        for name in ("common_voice", "artie", "coraal", "long:kincaid46")
    }
    assert [(u.reference, u.problem) for u in got["common_voice"]] == [("A sentence.", None)]
    assert got["artie"][0].audio == str(artie / "data" / "y.mp3") and got["artie"][0].problem is None
    assert got["coraal"][0].reference == "I ask about the buses"
    assert got["long:kincaid46"][0].reference == "The whole recording." and got["long:kincaid46"][0].problem is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("I aks him", "I ask him"),
        ("the busses came", "the buses came"),
        ("well /unintelligible/ yes /?/ no", "well yes no"),
        ("go /RD-NAME-2/ there", "go there"),
        ("so (pause 0.5) <laugh> {noise} [crosstalk] ok", "so ok"),
    ],
)
def test_coraal_text_cleaning(raw, clean):
    assert clean_coraal_text(raw) == clean


def test_connection_lost_while_streaming_is_one_line():
    from olmoasr.evaluation.hub_datasets import guarded_rows

    def rows():
        yield {"text": "first"}
        raise ConnectionError("Connection reset by peer\nwhile reading parquet")

    stream = guarded_rows(rows(), "voxpopuli", "hf-audio/esb-datasets-test-only-sorted")
    assert next(stream) == {"text": "first"}
    with pytest.raises(HubUnavailableError) as err:
        next(stream)
    assert str(err.value) == (
        "voxpopuli: loading hf-audio/esb-datasets-test-only-sorted failed: "
        "Connection reset by peer while reading parquet"
    )


def test_gated_failure_names_the_token_option():
    from olmoasr.evaluation.hub_datasets import hub_error

    message = str(hub_error("x", "org/set", OSError("401 Client Error: Unauthorized for url")))
    assert "--hf-token" in message and "\n" not in message
