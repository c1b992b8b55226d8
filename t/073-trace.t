# W3C Trace Context: a WebSocket joins the trace of its upgrade's
# traceparent (or starts one), is a span of its own, logs it
# ($ws_trace_id, $ws_span_id, $ws_trace_parent_id, $ws_traceparent) in
# its access-log line and its error-log lines, and its backend hook calls
# carry it as their parent.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::Backend;

my $port = test_port();
my $bport = $port + 1;
my $backend = Test::NgxWs::Backend->start(port => $bport);

my $TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
my $PARENT = '00f067aa0ba902b7';

my $http = <<CONF;
    ws_zone trace 1m;
    upstream hooks { server 127.0.0.1:$bport; keepalive 4; }
    log_format traced 'uri=\$uri status=\$status trace=\$ws_trace_id '
                      'span=\$ws_span_id parent=\$ws_trace_parent_id '
                      'traceparent=\$ws_traceparent close=\$ws_close_code';
    access_log logs/access.log traced;
CONF

my $config = <<CONF;
    location /ws { ws_listen; ws_echo on; }
    location /hooked {
        ws_listen;
        ws_backend_connect /internal/connect;
        ws_backend_message /internal/message;
        ws_backend_close /internal/close;
    }
    location ~ ^/internal/(?<hook>[a-z]+)\$ {
        internal;
        proxy_pass http://hooks/\$hook;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Trace-Id \$ws_trace_id;
        proxy_set_header X-Parent-Span \$ws_span_id;
    }
    location = /plain { return 204; }
CONF

my $ngx = start_nginx(name => 'trace', log_level => 'info',
                      http_config => $http, config => $config);

sub log_lines {
    my ($uri) = @_;
    return grep { /^uri=\Q$uri\E / } split /\n/, $ngx->access_log;
}

sub fields { my %f = $_[0] =~ /(\w+)=(\S+)/g; return \%f }

sub echo_session {
    my ($headers) = @_;
    my $ws = ws_connect(port => $port, uri => '/ws', headers => $headers // '');
    $ws->send_text('x');
    $ws->read_message;
    $ws->send_close(1000);
    $ws->read_message;
    $ws->disconnect;
}

# ---- joined: the upgrade carries a traceparent ----

echo_session("traceparent: 00-$TRACE-$PARENT-01\n");
ok(wait_for(sub { log_lines('/ws') == 1 }, 3), 'the session is logged at close');
my $f = fields((log_lines('/ws'))[0]);
is($f->{trace}, $TRACE, '$ws_trace_id: the trace of the traceparent');
is($f->{parent}, $PARENT, '$ws_trace_parent_id: the span that sent the upgrade');
like($f->{span}, qr/^[0-9a-f]{16}$/, '$ws_span_id: 16 hex digits');
isnt($f->{span}, $PARENT, '... a span of its own');
isnt($f->{span}, '0' x 16, '... not all zeros');
is($f->{traceparent}, "00-$TRACE-$f->{span}-01",
   '$ws_traceparent: the trace, our span as the parent, the sampled flag kept');
is($f->{close}, 1000, 'in the line written at close');

my ($line) = grep { /ws: peer closed with 1000/ } split /\n/, $ngx->error_log;
like($line // '', qr/while serving WebSocket, trace $TRACE/, "the session's error-log lines name the trace")
    or diag($line);

# ---- started: no traceparent, or an invalid one ----

echo_session();
echo_session();
echo_session("traceparent: 00-" . uc($TRACE) . "-$PARENT-01\n");
ok(wait_for(sub { log_lines('/ws') == 4 }, 3), 'three more sessions logged');
my @started = map { fields($_) } (log_lines('/ws'))[1 .. 3];
for my $s (@started) {
    like($s->{trace}, qr/^[0-9a-f]{32}$/, 'a started trace: 32 hex digits');
    is($s->{parent}, '-', 'no parent span');
    is($s->{traceparent}, "00-$s->{trace}-$s->{span}-00", 'not sampled: flags 00');
}
isnt($started[0]{trace}, $started[1]{trace}, 'each session starts its own trace');
isnt($started[2]{trace}, lc $TRACE, 'an uppercase traceparent is not joined (the spec)');
like($ngx->error_log, qr/\[info\] .*ws: invalid traceparent "00-4BF92F/, 'the invalid one is logged');

# two traceparent headers are none
echo_session("traceparent: 00-$TRACE-$PARENT-01\ntraceparent: 00-$TRACE-$PARENT-01\n");
ok(wait_for(sub { log_lines('/ws') == 5 }, 3), 'logged');
isnt(fields((log_lines('/ws'))[4])->{trace}, $TRACE, 'two traceparent headers: a new trace');

# a plain request logs a trace too (the same log_format serves both)
http_request(port => $port, raw => "GET /plain HTTP/1.1\r\nHost: localhost\r\n"
             . "traceparent: 00-$TRACE-$PARENT-00\r\nConnection: close\r\n\r\n");
ok(wait_for(sub { log_lines('/plain') == 1 }, 3), 'a plain request is logged');
$f = fields((log_lines('/plain'))[0]);
is($f->{trace}, $TRACE, 'with the trace of its traceparent');
is($f->{traceparent}, "00-$TRACE-$f->{span}-00", '... unsampled kept unsampled');

# ---- backend hooks are children of the WebSocket's span ----

my $ws = ws_connect(port => $port, uri => '/hooked',
                    headers => "traceparent: 00-$TRACE-$PARENT-01\n");
$ws->send_text('to the backend');
ok(wait_for(sub { grep { $_->{path} eq '/message' } $backend->requests }, 3),
   'the message hook is called');
$ws->send_close(1000);
$ws->read_message;
$ws->disconnect;
ok(wait_for(sub { grep { $_->{path} eq '/close' } $backend->requests }, 3),
   'the close hook is called');
ok(wait_for(sub { log_lines('/hooked') == 1 }, 3), 'the hooked session is logged');
my $span = fields((log_lines('/hooked'))[0])->{span};

my %by_path = map { $_->{path} => $_->{headers} } $backend->requests;
for my $hook (qw(connect message close)) {
    my $h = $by_path{"/$hook"} // {};
    is_deeply($h->{traceparent}, [ "00-$TRACE-$span-01" ],
              "$hook hook: one traceparent, the WebSocket's span as its parent");
    is($h->{'x-trace-id'}[0], $TRACE, "$hook hook: \$ws_trace_id in proxy_set_header");
    is($h->{'x-parent-span'}[0], $span, "$hook hook: \$ws_span_id too");
}

check_logs($ngx, undef, allow => qr/invalid traceparent|more than one traceparent/);
done_testing();
