"""Ground truth that arrives after the predictions: `load_labels` joins outcomes to the prediction log.

A source is a CSV file or an Iceberg table of the lake, keyed by `prediction_id` or by a configured business key
plus the prediction's time (`monitoring.labels`). Loading is contract-checked (a bad row refuses the whole
source), idempotent (a label already stored with the same value is left alone), and labels of predictions the
store does not have are reported, never inserted.
"""

from cml_mlops.labels.frame import LabelSourceError, read_label_source
from cml_mlops.labels.load import LabelLoad, load_labels
from cml_mlops.monitoring.store.labels import LabelCounts, apply_labels

__all__ = ["LabelCounts", "LabelLoad", "LabelSourceError", "apply_labels", "load_labels", "read_label_source"]
