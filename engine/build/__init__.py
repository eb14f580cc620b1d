"""Build: the graph compiled to a readable ``nn.Module`` (``compile``), the lean generated
``forward`` (``forward``), and where each node is drawn (``layout``)."""
