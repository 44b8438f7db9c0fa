"""One module per node of the incident graph; file name = function name = node name."""
