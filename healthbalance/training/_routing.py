"""Metadata routing shared by the meta-estimators of healthbalance.training.

Every meta-estimator routes the way scikit-learn's own do (``BaggingClassifier``,
``CalibratedClassifierCV``): ``get_metadata_routing`` returns a ``MetadataRouter``
holding the estimator's own requests (``add_self_request``: the parameters of its
``fit``, such as ``sensitive_features``) and one entry per wrapped object, and ``fit``
calls ``process_routing``. With routing enabled (``sklearn.set_config(
enable_metadata_routing=True)``) a wrapped estimator gets exactly the metadata it
requested with ``set_fit_request``; with routing disabled, ``fit`` keeps the
behaviour documented by each estimator and refuses other keyword arguments with
scikit-learn's error.
"""

from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    get_routing_for_object,
    process_routing,
)

from healthbalance._compat import _raise_for_params, _routing_enabled

__all__ = ["accepts", "fit_router", "refuse_sample_weight", "route_fit"]


def fit_router(owner, **children):
    """Return the router of ``owner``: its own requests, then its children.

    Parameters
    ----------
    owner : estimator
        The meta-estimator.
    **children : tuple of (object, str)
        ``name=(obj, callee)``: ``owner.fit`` calls ``obj.<callee>``. Children that
        are None are left out.

    Returns
    -------
    router : sklearn.utils.metadata_routing.MetadataRouter

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import GroupDROClassifier
    >>> from healthbalance.training._routing import fit_router
    >>> owner = GroupDROClassifier(LogisticRegression())
    >>> router = fit_router(owner, estimator=(owner.estimator, "fit"))
    >>> sorted(router.consumes("fit", ["sensitive_features", "sample_weight"]))
    []
    """
    router = MetadataRouter(owner=owner).add_self_request(owner)
    for name, (obj, callee) in children.items():
        if obj is not None:
            mapping = MethodMapping().add(caller="fit", callee=callee)
            router.add(method_mapping=mapping, **{name: obj})
    return router


def route_fit(owner, own, fit_params, unrouted=None, **callees):
    """Return the metadata of each child of ``owner.fit``, routing enabled or not.

    Parameters
    ----------
    owner : estimator
        The meta-estimator, whose ``get_metadata_routing`` uses :func:`fit_router`.
    own : dict
        Metadata named in ``owner.fit``'s signature (None values are dropped).
    fit_params : dict
        The other keyword arguments of ``owner.fit``.
    unrouted : callable or None, default=None
        ``unrouted(own)`` returns ``{name: {param: value}}`` with routing disabled,
        for an owner whose documented default forwards some metadata anyway; None
        forwards nothing.
    **callees : str
        ``name=callee`` for each child to read, e.g. ``estimator="fit"``.

    Returns
    -------
    routed : dict of dict
        ``{name: {param: value}}`` for every name of ``callees``. With routing
        disabled, ``fit_params`` must be empty (scikit-learn's error otherwise) and
        each child receives what ``unrouted`` says, else nothing.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import GroupDROClassifier
    >>> from healthbalance.training._routing import route_fit
    >>> owner = GroupDROClassifier(LogisticRegression())
    >>> route_fit(owner, {"sensitive_features": None}, {}, estimator="fit")
    {'estimator': {}}
    """
    if not _routing_enabled():
        _raise_for_params(fit_params, owner, "fit")
        given = {} if unrouted is None else unrouted(own)
        return {name: dict(given.get(name, {})) for name in callees}
    own = {key: value for key, value in own.items() if value is not None}
    routed = process_routing(owner, "fit", **own, **fit_params)
    return {name: dict(routed[name][callee]) for name, callee in callees.items()}


def accepts(obj, method, param):
    """Whether ``obj.<method>`` takes the metadata ``param`` (routing disabled).

    Reads the request that scikit-learn builds from the method's signature, so a
    method taking ``**kwargs`` only accepts what it declares.

    Parameters
    ----------
    obj : estimator
        Object to ask.
    method : str
        Method name, e.g. ``"fit"`` or ``"fit_resample"``.
    param : str
        Metadata name.

    Returns
    -------
    accepted : bool

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training._routing import accepts
    >>> accepts(LogisticRegression(), "fit", "sample_weight")
    True
    >>> accepts(LogisticRegression(), "fit", "sensitive_features")
    False
    """
    requests = getattr(get_routing_for_object(obj), method, None)
    return requests is not None and param in getattr(requests, "requests", {})


def refuse_sample_weight(owner, fit_params):
    """Raise when ``sample_weight`` is passed to an estimator that sets its own.

    Group DRO and JTT give the wrapped estimator the weights of their algorithm;
    a routed ``sample_weight`` would silently replace or clash with them.

    Parameters
    ----------
    owner : estimator
        The meta-estimator.
    fit_params : dict
        The keyword arguments of ``owner.fit`` beyond its signature.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import JTTClassifier
    >>> from healthbalance.training._routing import refuse_sample_weight
    >>> refuse_sample_weight(JTTClassifier(LogisticRegression()), {"sample_weight": 1})
    Traceback (most recent call last):
    ...
    ValueError: JTTClassifier sets the sample weights of its estimator itself ...
    """
    if "sample_weight" in fit_params:
        name = type(owner).__name__
        raise ValueError(
            f"{name} sets the sample weights of its estimator itself (they are its "
            "algorithm), so it does not take sample_weight: drop it, or weight the "
            "rows by resampling them before the fit."
        )
