"""Hypothesis strategies for JSON that the sockets' fuzz tests build frames from."""

from hypothesis import strategies as st

# Any JSON value orjson can write: 64-bit integers, finite floats, small nested containers.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
