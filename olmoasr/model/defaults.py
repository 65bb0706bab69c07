"""Decoding defaults, in one place. The options objects of the library read them, and so does the CLI's
help text (this module imports nothing, so `olmoasr --help` stays fast)."""

TEMPERATURE = 0.0  # the first temperature of the fallback schedule
TEMPERATURE_STEP = 0.2  # the schedule climbs in these steps up to 1.0
COMPRESSION_RATIO_THRESHOLD = 2.4  # retry hotter when a window's gzip compression ratio is above this
LOGPROB_THRESHOLD = -1.0  # retry hotter when a window's average token log-probability is below this
NO_SPEECH_THRESHOLD = 0.6  # a window is silence above this no-speech probability (with a low log-probability)
NO_SPEECH_AFTER = "sot"  # where the no-speech probability is read (see DecodingOptions.no_speech_after)
BATCH_SIZE = 16  # 30 s chunks decoded together in batched mode
