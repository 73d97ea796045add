"""The state to pickle of an object that holds per-process handles."""


def state_without(obj: object, **fresh) -> dict:
    """``obj.__dict__`` to pickle, with ``fresh`` values for what belongs
    to one process (an open reader or file, once-per-process log records):
    a dataloader worker gets the rest and reopens its handles lazily.

    Args:
        obj (object): The object being pickled.
        **fresh: Attribute name -> its value in the pickled state.

    Returns:
        dict: The state for ``__getstate__``.
    """
    state = dict(obj.__dict__)
    state.update(fresh)
    return state
