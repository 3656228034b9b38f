"""tscl: self-supervised contrastive representation learning for multivariate time series."""

from tscl.errors import CheckpointError, ConfigError, DataError, DownloadError, TsclError

__version__ = "0.1.0"

__all__ = ["TsclError", "DataError", "DownloadError", "ConfigError", "CheckpointError", "__version__"]
