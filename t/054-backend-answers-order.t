# The message hook when the backend is busy or broken: 10,000 messages
# answered in order with several calls in flight; a backend that refuses
# connections, does not answer in time, answers garbage or too long a
# body: each call fails (the message dropped, counted as 5xx, logged when
# failing starts), and the connection survives.
use Test::NgxWs;
use Test::More;
use Test::NgxWs::MessageBackend;
use Test::NgxWs::HookConfig;

my $port = test_port();
my $nport = $port + 1;
my $down = $port + 2;          # nothing listens there

Test::NgxWs::MessageBackend->start(port => $nport);

my $http = hooks_http_config(zone => 'order', port => $nport) . <<CONF;
    upstream down {
        server 127.0.0.1:$down;
    }
CONF

my $proxy = <<'CONF';
        internal;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_connect_timeout 1s;
        proxy_read_timeout 1s;
CONF

my $config = <<CONF;
    location /order {
        ws_listen;
        ws_backend_message /internal/jitter;
        ws_backend_message_inflight 8;
    }
    location = /internal/jitter {
$proxy
        proxy_pass http://hooks/message?jitter=3;
    }
    location /node {
        ws_listen;
        ws_backend_message /internal/node;
    }
    location = /internal/node {
$proxy
        proxy_pass http://hooks/message;
        subrequest_output_buffer_size 4k;
    }
    location /down {
        ws_listen;
        ws_backend_message /internal/down;
    }
    location = /internal/down {
$proxy
        proxy_pass http://down/message;
    }
    location = /count { proxy_pass http://hooks/count; }
    location = /metrics { ws_status; }
CONF

my $ngx = start_nginx(name => 'message hook order and failures', log_level => 'info',
                      http_config => $http, config => $config);


{
    my $name = '10,000 messages, 8 in flight, answered in order';
    my $ws = ws_connect(uri => '/order');
    my $n = 10_000;
    my ($sent, @got) = (0);
    # keep 100 ahead of the answers, as a client streaming would
    while ($sent < 100) { $sent++; $ws->send_text("m$sent") }
    while (@got < $n) {
        my $m = $ws->read_message(10) or last;
        push @got, $m->{payload};
        if ($sent < $n) { $sent++; $ws->send_text("m$sent") }
    }
    is(scalar @got, $n, "$name - every message answered");
    my @bad = grep { $got[$_] ne 're:m' . ($_ + 1) } 0 .. $#got;
    is(scalar @bad, 0, "$name - in the order sent")
        or diag("first out of place: $got[$bad[0]] at $bad[0]");
    my $count = http_request(port => $port, raw =>
        "GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
    my ($most) = $count =~ /"most":(\d+)/;
    ok($most > 1 && $most <= 8, "$name - several calls at once, never over 8 ($most)");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

sub survives {
    my ($ws, $name) = @_;
    $ws->send_text(order(status => 200, body => 'alive'));
    $ws->expect('text alive', $name);
}

{
    my $name = 'a backend that refuses connections';
    my $ws = ws_connect(uri => '/down');
    $ws->send_text("m$_") for 1 .. 3;
    ok(wait_for(sub { metrics($port) =~ /^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 3$/m }, 5),
       "$name - three calls failed, counted as 5xx");
    $ws->send_ping('p');
    $ws->expect('pong p', "$name - nothing sent, the connection open");
    my $log = $ngx->error_log;
    my $lines = () = $log =~ /message hook "\/internal\/down" failed with 502/g;
    is($lines, 1, "$name - logged once for three failures");
    like($log, qr/connect\(\) failed \(111: Connection refused\)/, "$name - NGINX says why");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'a backend that does not answer in time';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(hang => 1));
    survives($ws, "$name - dropped after proxy_read_timeout (504), the next one answered");
    like(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 4$/m,
         "$name - counted as 5xx");
    like($ngx->error_log, qr/message hook "\/internal\/node" failed with 504/,
         "$name - logged");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'a backend that answers garbage';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(garbage => 1));
    survives($ws, "$name - dropped, the next one answered");
    like(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 5$/m,
         "$name - counted as 5xx");
    like($ngx->error_log, qr/upstream sent no valid HTTP\/1.0 header/, "$name - NGINX says why");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

{
    my $name = 'an answer longer than subrequest_output_buffer_size';
    my $ws = ws_connect(uri => '/node');
    $ws->send_text(order(status => 200, body_size => 5000));
    survives($ws, "$name - dropped, the next one answered");
    like(metrics($port), qr/^ngx_ws_backend_calls_total\{hook="message",status="5xx"\} 6$/m,
         "$name - counted as 5xx");
    like($ngx->error_log, qr/too big subrequest response/, "$name - NGINX says why");
    $ws->send_text(order(status => 200, body_size => 4000));
    my $m = $ws->read_message(5);
    is($m && length($m->{payload}), 4000, "$name - one that fits goes through");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name, 1);
}

check_logs($ngx, undef, allow => [qr/connect\(\) failed/, qr/upstream timed out/,
                                  qr/no valid HTTP/, qr/too big subrequest/]);

done_testing();
