"""Package data: the built-in sample shard (`sample_shard.tar.gz`, see olmoasr.sample_data)."""
