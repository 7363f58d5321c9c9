"""r00016: an invalid regex is a config error: `sluice -t` exits 1 with
"FILE:LINE: <setting path>: invalid regex: <oniguruma's message>"."""

from harness import run_sluice

HEAD = """workers = 2;
pid_file = "%s/sluice.pid";
log = { error = "stderr"; level = "info"; };
listeners = ( { address = "127.0.0.1:1"; } );
sources = ( { name = "a"; address = "127.0.0.1:9"; } );
"""
# HEAD is 5 lines; the next line is 6.


def check(tmp_path, tail):
    conf = tmp_path / "bad.conf"
    conf.write_text(HEAD % tmp_path + tail)
    rc, out = run_sluice(["-t", "-c", str(conf)])
    return conf, rc, out


def test_request_rewrite_regex_unmatched_paren(tmp_path):
    conf, rc, out = check(tmp_path,
                          'routes = ( { host = "*"; sources = [ "a" ];\n'
                          '  request = { rewrite = (\n'
                          '    { regex = "^/old/(.*"; replace = "/new/$1"; }\n'
                          '  ); };\n'
                          '} );\n')
    assert rc == 1, out
    want = "%s:8: routes[0].request.rewrite[0].regex: invalid regex: " \
           "end pattern with unmatched parenthesis" % conf
    assert want in out, out
    assert "configuration OK" not in out


def test_second_rule_char_class(tmp_path):
    conf, rc, out = check(tmp_path,
                          'routes = ( { host = "*"; sources = [ "a" ];\n'
                          '  request = { rewrite = (\n'
                          '    { regex = "^/ok/(.*)$"; replace = "/$1"; },\n'
                          '    { regex = "^/[a-"; replace = "/x"; }\n'
                          '  ); };\n'
                          '} );\n')
    assert rc == 1, out
    want = "%s:9: routes[0].request.rewrite[1].regex: invalid regex: " \
           "premature end of char-class" % conf
    assert want in out, out


def test_path_regex_of_second_route(tmp_path):
    conf, rc, out = check(tmp_path,
                          'routes = (\n'
                          '  { host = "x.test"; path = "/"; sources = [ "a" ]; },\n'
                          '  { host = "*"; path_regex = "^/img/(png|jpg"; sources = [ "a" ]; }\n'
                          ');\n')
    assert rc == 1, out
    want = "%s:8: routes[1].path_regex: invalid regex: " \
           "end pattern with unmatched parenthesis" % conf
    assert want in out, out


def test_rewrite_location_regex(tmp_path):
    conf, rc, out = check(tmp_path,
                          'routes = ( { host = "*"; sources = [ "a" ];\n'
                          '  response = {\n'
                          '    rewrite_location = ( { regex = "a{3,2}"; replace = "/"; } );\n'
                          '  };\n'
                          '} );\n')
    assert rc == 1, out
    assert "%s:8: routes[0].response.rewrite_location[0].regex: invalid regex: " % conf in out, out
    # oniguruma: ONIGERR_UPPER_SMALLER_THAN_LOWER_IN_REPEAT_RANGE
    assert "upper is smaller than lower in repeat range" in out, out
