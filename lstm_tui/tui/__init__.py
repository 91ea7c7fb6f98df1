"""The Textual user interface of lstm-tui.

``app.make_app(trace)`` builds it. Importing this package pulls in Textual
but never Keras or TensorFlow: the model panel imports the Keras bridge in
a thread worker, and only once the panel is used.
"""
