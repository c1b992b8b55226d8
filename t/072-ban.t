# ws_ban count window duration, ws_ban_allow: an address whose WebSockets
# the server closes for breaking a rule (protocol error, oversized
# message, rate limit, refused token) "count" times within "window" is
# answered 429 with Retry-After for "duration", counted in ws_zone across
# workers, logged once per ban, shown in /metrics; allow-listed addresses
# never are.
use Test::NgxWs;
use Test::More;
use Time::HiRes qw(time sleep);

my $port = test_port();

my $http = "    ws_zone bans 1m;\n";
my $config = <<'CONF';
    location /big {
        ws_listen; ws_echo on; ws_max_message_size 16;
        ws_ban 3 10s 2s;
    }
    location /big_allowed {
        ws_listen; ws_echo on; ws_max_message_size 16;
        ws_ban 3 10s 2s;
        ws_ban_allow 10.0.0.0/8 127.0.0.1;
    }
    location /rate {
        ws_listen; ws_echo on;
        ws_limit_rate connection 1r/m burst=1;
        ws_ban 2 10s 30s;
    }
    location /window {
        ws_listen; ws_echo on; ws_max_message_size 16;
        ws_ban 2 1s 30s;
    }
    location /free { ws_listen; ws_echo on; ws_max_message_size 16; }
    location = /metrics { ws_status; }
CONF

sub metric {
    my ($name) = @_;
    my $body = http_request(port => $port, raw => "GET /metrics HTTP/1.1\r\n"
                            . "Host: localhost\r\nConnection: close\r\n\r\n")->{body};
    return $body =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

# One session that the server closes for an oversized message: the close code.
sub oversize {
    my ($uri) = @_;
    my $ws = eval { ws_connect(port => $port, uri => $uri) } or return 0;
    $ws->send_text('x' x 100);
    my $msg = $ws->read_message;
    $ws->disconnect;
    return $msg && $msg->{op} eq 'close' ? $msg->{code} : 0;
}

sub answer { ws_handshake_answer(port => $port, uri => $_[0]) }

sub bans_logged { scalar(() = $_[0]->error_log =~ /ws: 127\.0\.0\.1 banned for/g) }

my $ngx = start_nginx(name => 'ban', log_level => 'info',
                      http_config => $http, config => $config);

is(metric('ngx_ws_bans_total'), 0, 'no ban at start');

# two strikes: not yet
is(oversize('/big'), 1009, "strike $_: closed with 1009") for 1 .. 2;
is(answer('/big')->{status}, 101, 'two strikes of three: still let in');

# the third bans
is(oversize('/big'), 1009, 'strike 3: closed with 1009');
ok(wait_for(sub { bans_logged($ngx) == 1 }, 3), 'the ban is logged')
    or diag(Test::NgxWs::log_excerpt("$ngx->{prefix}/logs/error.log"));
like($ngx->error_log, qr/\[warn\] .*ws: 127\.0\.0\.1 banned for 2 s after 3 connections closed for breaking the rules within 10 s \(ws_ban\)/,
     'the line says who, how long and why');

my $t0 = time;
my $res = answer('/big');
is($res->{status}, 429, 'banned: 429');
ok($res->{header}{'retry-after'} && $res->{header}{'retry-after'} >= 1
   && $res->{header}{'retry-after'} <= 2, "Retry-After: the seconds left ($res->{header}{'retry-after'})");
is(answer('/big')->{status}, 429, 'still banned') for 1 .. 3;
is(bans_logged($ngx), 1, 'logged once per ban, not per refusal');
is(metric('ngx_ws_bans_total'), 1, 'ngx_ws_bans_total counts the ban');
is(metric('ngx_ws_ban_refusals_total'), 4, 'ngx_ws_ban_refusals_total counts the refusals');
like(metric_text(), qr/^ngx_ws_handshakes_total\{status="429"\} 4$/m, 'the refusals are 429 handshakes');

sub metric_text {
    return http_request(port => $port, raw => "GET /metrics HTTP/1.1\r\n"
                        . "Host: localhost\r\nConnection: close\r\n\r\n")->{body};
}

is(answer('/free')->{status}, 101, 'a location without ws_ban is not affected');
is(answer('/window')->{status}, 101, 'another ws_ban counts apart');

# the ban ends after its duration
ok(wait_for(sub { answer('/big')->{status} == 101 }, 4), 'let in again once the ban is over');
cmp_ok(time - $t0, '>=', 0.9, 'not before its time');

# allow-listed: never banned, however many strikes
is(oversize('/big_allowed'), 1009, "allow-listed, strike $_") for 1 .. 5;
is(answer('/big_allowed')->{status}, 101, 'an allow-listed address is never banned');

# closes that are not the client's fault do not count
for (1 .. 4) {
    my $ws = ws_connect(port => $port, uri => '/window');
    $ws->send_text('ok');
    $ws->read_message;
    $ws->send_close(1000);
    $ws->read_message;
    $ws->disconnect;
}
is(answer('/window')->{status}, 101, 'normal closes do not count');

# the window: strikes further apart than it do not add up
is(oversize('/window'), 1009, 'window: strike 1');
sleep 1.3;
is(oversize('/window'), 1009, 'window: strike 2, after the window');
is(answer('/window')->{status}, 101, 'strikes further apart than the window: no ban');
is(oversize('/window'), 1009, 'window: strike 3, within the window of strike 2');
is(answer('/window')->{status}, 429, 'two within the window: banned');

# a rate limit that closes is a strike too
for my $n (1 .. 2) {
    my $ws = ws_connect(port => $port, uri => '/rate');
    $ws->send_text("m$_") for 1 .. 3;
    my $code;
    while (my $msg = $ws->read_message) {
        if ($msg->{op} eq 'close') { $code = $msg->{code}; last }
    }
    $ws->disconnect;
    is($code, 1008, "over the rate: closed with 1008 ($n)");
}
ok(wait_for(sub { answer('/rate')->{status} == 429 }, 2), 'two rate-limit closes: banned');
check_logs($ngx);

# ---- across workers ----

$ngx = start_nginx(name => 'ban across workers', log_level => 'info',
                   main_config => 'worker_processes 2;', listen_options => 'reuseport',
                   http_config => $http, config => <<'CONF');
    location /big {
        ws_listen; ws_echo on; ws_max_message_size 16;
        ws_ban 6 30s 30s;
    }
CONF
my @workers = $ngx->workers(2);
is(scalar @workers, 2, 'two workers');
is(oversize('/big'), 1009, "strike $_") for 1 .. 5;
my %pids = map { $_ => 1 } $ngx->error_log =~ /\[info\] (\d+)#\d+: \*\d+ ws: protocol error/g;
note('strikes closed by workers ' . join(', ', sort keys %pids));
SKIP: {
    skip 'reuseport put every strike on one worker this time', 1 if keys %pids < 2;
    is(scalar keys %pids, 2, 'the strikes were closed by both workers');
}
is(answer('/big')->{status}, 101, 'five strikes of six, wherever they were counted: let in');
is(oversize('/big'), 1009, 'strike 6');
# The strike is counted when its worker reads the client's close; the next
# handshake may reach the other worker first: wait for the ban's log line.
ok(wait_for(sub { bans_logged($ngx) == 1 }, 3), 'strike 6 counted: the ban is logged');
is(answer('/big')->{status}, 429, 'banned by the count of both workers') for 1 .. 4;
check_logs($ngx);

# ---- an address allow-listed on reload is let in, even while banned ----

$ngx = start_nginx(name => 'allowed on reload', log_level => 'info',
                   http_config => "$http    ws_ban 2 30s 30s;\n", config => <<'CONF');
    location /big {
        ws_listen; ws_echo on; ws_max_message_size 16;
        # ws_ban_allow 127.0.0.1;
    }
CONF
is(oversize('/big'), 1009, "strike $_") for 1 .. 2;
is(answer('/big')->{status}, 429, 'banned');
my $conf_file = "$ngx->{prefix}/conf/nginx.conf";
my $text = Test::NgxWs::slurp($conf_file);
# the same lines: the ban's count in the zone is the same after the reload
$text =~ s/# ws_ban_allow 127\.0\.0\.1;/ws_ban_allow 127.0.0.1;/ or die 'no placeholder';
open my $cf, '>', $conf_file or die $!;
print $cf $text;
close $cf;
my @old = $ngx->workers;
$ngx->signal('HUP');
ok(wait_for(sub { my @now = $ngx->workers; @now && !grep { my $o = $_; grep { $_ == $o } @now } @old }, 10),
   'reloaded');
is(answer('/big')->{status}, 101, 'the ban no longer applies to it');
check_logs($ngx);

# ---- validation ----

my @bad = (
    [ 'ws_ban 0 1m 1m;',  qr/invalid count "0" in "ws_ban"/ ],
    [ 'ws_ban 5 0 1m;',   qr/invalid window "0" in "ws_ban"/ ],
    [ 'ws_ban 5 1m 500ms;', qr/invalid duration "500ms" in "ws_ban"/ ],
    [ 'ws_ban 5 1m;',     qr/invalid number of arguments in "ws_ban" directive/ ],
    [ 'ws_ban on;',       qr/invalid value "on" in "ws_ban"/ ],
    [ 'ws_ban 5 1m 1m; ws_ban 5 1m 1m;', qr/"ws_ban" directive is duplicate/ ],
    [ 'ws_ban_allow 300.1.1.1;', qr/invalid address "300.1.1.1" in "ws_ban_allow"/ ],
);
for my $case (@bad) {
    my ($conf, $re) = @$case;
    my ($rc, $out) = nginx_check_config(dir => '072-ban-t', http => 'ws_zone z 1m;',
                                        location => "ws_listen; $conf");
    isnt($rc, 0, "refused: $conf");
    like($out, qr/$re.* in \S+nginx\.conf:\d+/, '... naming the directive and its line') or diag($out);
}
my ($rc, $out) = nginx_check_config(dir => '072-ban-t', location => 'ws_listen; ws_ban 5 1m 1m;');
isnt($rc, 0, 'ws_ban without ws_zone refused');
like($out, qr/"ws_ban" counts closes in "ws_zone".* in \S+nginx\.conf:\d+/, '... saying why and where') or diag($out);
($rc, $out) = nginx_check_config(dir => '072-ban-t', http => 'ws_zone z 1m; ws_ban 20 1m 1m; ws_ban_allow 127.0.0.1 ::1 10.0.0.0/8;',
                                 location => 'ws_listen; ws_ban off;');
is($rc, 0, 'http-level ws_ban, ws_ban_allow with IPv6, and off in a location') or diag($out);

done_testing();
