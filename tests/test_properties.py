"""Property-based checks (hypothesis) of the command line's numeric options: any out-of-range number given to
`resnet_fa train`, `eval` or `lr-find` ends in exit status 2 with one `resnet_fa: error:` line naming the option,
no traceback and nothing written, before any data is read; and any in-range value passes the same checks.

    python -m pytest -q tests/test_properties.py"""
import math, os, tempfile
from pathlib import Path
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from resnet_fa.cli import main
from resnet_fa.core import ResnetFaError
from resnet_fa.learner import Recipe

# option -> (a strategy of values outside its limits, a strategy of values inside them)
INTS = {'epochs': (st.integers(max_value=0), st.integers(1, 10_000)),
        'bs': (st.integers(max_value=0), st.integers(1, 4096)),
        'size': (st.integers(max_value=0), st.integers(1, 2048)),
        'workers': (st.integers(max_value=-1), None),
        'keep-best': (st.integers(max_value=-1), None),
        'seed': (st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)), None)}
FLOATS = {'lr': (st.one_of(st.floats(max_value=0., allow_nan=False), st.just(math.nan)),
                 st.floats(1e-6, 10., allow_nan=False)),
          'label-smoothing': (st.one_of(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
                                        st.floats(min_value=1., allow_nan=False, allow_infinity=False)),
                              st.floats(0., 0.99)),
          'mixup': (st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False), st.floats(0., 10.))}
BAD = {**INTS, **FLOATS}

def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('resnet_fa: error:') and 'Traceback' not in err, err
    return lines[0]

@pytest.mark.parametrize('option', list(BAD))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_out_of_range_train_option_is_one_line_and_writes_nothing(option, data, capsys):
    value = data.draw(BAD[option][0], label=option)
    with tempfile.TemporaryDirectory() as d:
        cwd = os.getcwd(); os.chdir(d)
        try: code = main(['train', f'--{option}', repr(value) if isinstance(value, float) else str(value),
                          '--data', '/nonexistent/data', '--out', str(Path(d)/'out')])
        finally: os.chdir(cwd)
        assert code == 2
        line = _error_line(capsys)
        assert option.replace('-', '_') in line.replace('-', '_'), line   # names the option, not the missing data
        assert list(Path(d).iterdir()) == []

@pytest.mark.parametrize('option', [o for o, (_, good) in BAD.items() if good is not None])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_in_range_recipe_values_are_accepted(option, data):
    value = data.draw(BAD[option][1], label=option)
    field = option.replace('-', '_')
    r = Recipe('p').replace(**{field: value})
    assert getattr(r, field) == value

@pytest.mark.parametrize('option', [o for o in BAD if o.replace('-', '_') in Recipe.__dataclass_fields__])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_out_of_range_recipe_values_are_refused_in_python_too(option, data):
    value = data.draw(BAD[option][0], label=option)
    with pytest.raises(ResnetFaError) as e: Recipe('p').replace(**{option.replace('-', '_'): value})
    assert '\n' not in str(e.value)

@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bs=st.integers(max_value=0), resize=st.integers(max_value=0))
def test_out_of_range_eval_option_is_one_line(bs, resize, capsys, tmp_path_factory):
    run = tmp_path_factory.mktemp('eval')/'no-run'
    assert main(['eval', str(run), '--bs', str(bs)]) == 2
    assert '--bs' in _error_line(capsys)
    assert main(['eval', str(run), '--resize', str(resize)]) == 2
    assert '--resize' in _error_line(capsys)
