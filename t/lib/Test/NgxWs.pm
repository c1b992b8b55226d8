package Test::NgxWs;

=head1 NAME

Test::NgxWs - run ngx_ws integration tests against a real NGINX

=head1 SYNOPSIS

    use Test::NgxWs;

    plan tests => blocks() * 2;   # or: run_tests(); done_testing();
    run_tests();

    __DATA__

    === TEST 1: echo a text message
    --- config
        location /ws { ws_listen; ws_echo on; }
    --- ws_send
    text hello
    close 1000 bye
    --- ws_expect
    text hello
    close 1000 bye
    --- ws_expect_eof

=head1 DESCRIPTION

Every block starts its own NGINX (the binary in C<NGX_BIN>, default
F</usr/sbin/nginx>) with our module (C<NGX_WS_MODULE>, default
F<build/ngx_http_ws_module.so> in the repository) under the prefix
F<t/servroot/E<lt>test fileE<gt>/>, runs the block, stops NGINX with QUIT and
checks its logs. The prefix is left behind for reading after a failure.

When the module is not built, every file skips unless it says
C<use Test::NgxWs without_module =E<gt> 1;> (the harness self-test does).

=head2 Configuration sections

=over

=item C<--- main_config>, C<--- http_config>, C<--- config>

Text placed in the main context, in C<http {}>, and in the one
C<server {}> (which listens on 127.0.0.1:$port). Defaults that the block
itself sets (C<worker_processes>, C<error_log>, C<access_log>, C<pid>,
C<daemon>, C<master_process>) are not written twice.

In all configuration text C<$port> / C<$TEST_NGINX_SERVER_PORT> become the
test port (env C<NGX_WS_TEST_PORT>, else a free block of ports chosen for
the file: see L</Isolation>), C<$port2> /
C<$TEST_NGINX_SERVER_PORT2> the next one, C<$servroot> /
C<$TEST_NGINX_SERVER_ROOT> the prefix, any other C<$TEST_NGINX_NAME> the
environment variable of that name. NGINX's own C<$variables> are left alone.

=item C<--- log_level>

Level of F<logs/error.log> (default C<debug>).

=item C<--- tls>, C<--- port>

Make the client (HTTP or WebSocket) use TLS, or another port (e.g.
C<$port2>). Whenever the configuration mentions C<cert.pem> a self-signed
certificate F<conf/cert.pem> + F<conf/cert.key> is made with openssl.

=item C<--- timeout>

Seconds any single read may wait (default 5).

=back

=head2 HTTP sections

=over

=item C<--- request> (C<GET /path [HTTP/1.x]>, further lines are the body),
C<--- more_headers> (C<Name: value> lines; they replace the default
C<Host> / C<Connection: close> of the same name; C<!Name> removes one),
C<--- raw_request> (the exact bytes, C<eval> allowed).

=item C<--- error_code>, C<--- response_headers> (C<Name: value>, C<!Name>
for absent), C<--- response_body>, C<--- response_body_like>.

=back

=head2 WebSocket sections

=over

=item C<--- ws_handshake>

Optional. A first line C<GET /path [HTTP/1.x]> replaces the default request
line C<GET /ws HTTP/1.1>; C<Name: value> lines replace default headers of
that name (C<Host>, C<Upgrade>, C<Connection>, C<Sec-WebSocket-Key> (random),
C<Sec-WebSocket-Version>) or add new ones; C<!Name> removes one. Unless
C<--- error_code> says otherwise the answer must be 101 with C<Upgrade:
websocket>, C<Connection: upgrade> and the C<Sec-WebSocket-Accept> computed
here with Digest::SHA. With another C<--- error_code> the answer is checked
like an HTTP response.

=item C<--- ws_send>

Frames to send, one per line (C<#> starts a comment):

    text hello            text_hex ceba          text len=65536
    binary abc            binary_hex 000102      binary len=1048576
    ping abc              ping_hex 00ff          pong x
    close                 close 1000             close 1000 bye
    close_raw_hex 03
    frame fin=0 op=text rsv=0 mask=1 mask_key=01020304 payload=hel
        (op: number or text/binary/cont/close/ping/pong; rsv: 0-7, 4 = RSV1;
         payload_hex=.. or len=N for generated data; len_enc=7|16|64 forces
         the length encoding; len_field=N (or 0x..) puts N in the header
         whatever the real payload is, e.g. a header alone that announces
         a huge frame. payload= takes the rest of the line.)
    raw_hex 81 05 ...     bytes as they are on the wire
    sleep 0.2
    expect text hello     read one message in between (same DSL as below)

Client frames are masked with a random key unless C<mask=0>. Data made by
C<len=N> is deterministic: text cycles through C<a-z0-9>, binary through a
251-byte pattern.

=item C<--- ws_expect>

Messages the server must send, in order, same DSL: C<text hello>,
C<text len=N>, C<binary_hex ..>, C<text *> (any text), C<ping *>,
C<pong abc>, C<close> (empty payload), C<close 1002> (any reason),
C<close 1000 bye>, C<close *> (any close). Fragmented server messages are
reassembled; server frames must be unmasked and have RSV = 0.

When the server sends a close frame and the client has not sent one, the
client answers with the same code, as a real client does (C<---
ws_no_close_reply> turns that off).

=item C<--- ws_expect_eof>

After the expected messages the server must close TCP, with no more frames.

=back

=head2 Log sections

C<--- error_log> and C<--- access_log>: each line (or each element of an
C<eval>'d array, strings or C<qr//>) must show up in F<logs/error.log> /
F<logs/access.log>; the harness polls for them for up to the timeout.
C<--- no_error_log>: must not appear once NGINX has stopped. Always checked:
no C<[alert]>, C<[emerg]>, C<[crit]>, C<AddressSanitizer>, C<runtime error>,
C<exited on signal>, C<exited with code> other than 0 (C<log_problems($log)>
gives those lines); NGINX must still run when the block ends and stop on
QUIT. With C<NGX_WS_SANITIZER_LOGS> set (C<make asan>) sanitizer reports
found in an error log are copied into that directory.

=head2 Imperative use

For process-level cases (reload, several workers, heartbeats) a test file
drives the same pieces itself:

    my $ngx = start_nginx(name => 'reload', config => '...',   # Test::NgxWs::Nginx
                          http_config => '...', main_config => '...',
                          log_level => 'info');
    my $ws  = ws_connect(uri => '/ws', port => $p, tls => 1,    # Test::NgxWs::Client
                         rcvbuf => 4096, no_close_reply => 1);
    my $res = ws_handshake_answer(uri => '/ws');   # any status: a refusal
    is($res->{status}, 503, 'refused');            # checked with is()
    $ws->send_text('hi');            # send_binary, send_ping, send_pong,
                                     # send_close($code, $reason), send_raw,
                                     # send_frame(%opts), send_dsl('text hi')
    my $msg = $ws->read_message;     # { op => 'text', payload => 'hi' },
                                     # close: also code, reason; undef on EOF
    $ws->expect('close 1001', $name);  # one test, DSL as in ws_expect
    $ws->expect_eof($name);
    $ngx->signal('HUP');  $ngx->workers;  vm_rss_kb($pid);  $ngx->error_log;
    check_logs($ngx);    # as for a block: stops NGINX (unless ->stop ran) and
                         # checks error.log for alerts and crashes
    check_logs($ngx, undef, allow => qr/.../);  # minus lines expected on purpose
    wait_for(sub { ... }, $seconds);   # poll instead of sleeping
    my $out = run_bounded("node client.js ...", timeout => 60);  # bounded

=head2 Isolation

Each test file gets ports of its own: C<test_port()> .. C<test_port() + 9>
for NGINX and the servers a file puts beside it, C<test_port() + 90> ..
C<+ 99> for Redis. Without C<NGX_WS_TEST_PORT> the block is drawn at random
and checked free by binding every port of it. Every process the file
started (NGINX, redis-server, backends, proxies, clients, daemonized or
not) is stopped when the file ends, also when it dies or gets INT, TERM or
HUP. A file that runs longer than C<NGX_WS_TEST_FILE_TIMEOUT> seconds
(default 300) fails with a message saying so; a client started with
C<run_bounded> is killed after its own timeout (default 60 s). See
L<Test::NgxWs::Isolation>.

=cut

use strict;
use warnings;
no warnings 'portable';

use Test::Base -base;
use Test::More ();

use Cwd qw(abs_path);
use Digest::SHA qw(sha1);
use Errno qw(EAGAIN EINTR EWOULDBLOCK ECONNRESET);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX ();
use Socket ();
use Time::HiRes qw(time sleep);
use Test::NgxWs::Isolation ();

our @EXPORT = qw(
    run_tests done_testing note is_deeply subtest
    start_nginx ws_connect ws_handshake_answer http_request check_logs wait_for
    repo_root module_path nginx_bin test_port gen_payload
    worker_pids vm_rss_kb socket_owner nginx_check_config run_bounded
    start_demo_backend scrape_metrics
);

*run_bounded = \&Test::NgxWs::Isolation::run_bounded;

# Test::Base runs its own comparisons at END unless a plan went through
# Test::Builder::plan, so the trailing plan is given that way.
sub done_testing {
    Test::More::plan(tests => Test::Builder->new->current_test);
}

*note         = \&Test::More::note;
*subtest      = \&Test::More::subtest;

$SIG{PIPE} = 'IGNORE';

our $WithoutModule = 0;

sub import {
    my $class = shift;
    my @rest;
    while (@_) {
        my $arg = shift;
        if (defined $arg && $arg eq 'without_module') {
            $WithoutModule = shift;
            next;
        }
        push @rest, $arg;
    }

    unless ($WithoutModule || -f module_path()) {
        Test::More::plan(skip_all => 'module not built: ' . module_path()
                                     . ' (run make build)');
    }
    Test::NgxWs::Isolation::arm();

    @_ = ($class, @rest);
    goto &Test::Base::import;
}


# ------------------------------------------------------------------ #
# Environment                                                         #
# ------------------------------------------------------------------ #

sub repo_root {
    return abs_path(dirname(__FILE__) . '/../../..');
}

sub module_path {
    return $ENV{NGX_WS_MODULE} || repo_root() . '/build/ngx_http_ws_module.so';
}

sub nginx_bin {
    return $ENV{NGX_BIN} || '/usr/sbin/nginx';
}

sub test_port {
    return Test::NgxWs::Isolation::port_base();
}

# nginx_check_config(dir => 't/servroot/<dir>', location => 'directives',
#     http => 'http-level lines', extra => 'more server lines',
#     files => [paths copied next to nginx.conf])
# Writes a configuration with `location` in "location /ws", runs
# `nginx -t` on it and returns (exit code, output): what the config tests
# check directive validation with.
sub nginx_check_config {
    my (%args) = @_;
    my $prefix = repo_root() . "/t/servroot/$args{dir}";
    remove_tree($prefix);
    make_path("$prefix/conf", "$prefix/logs");
    for my $file (@{ $args{files} // [] }) {
        system('cp', $file, "$prefix/conf/") == 0 or die "cp $file failed\n";
    }
    my $module = module_path();
    my $http = $args{http} // '';
    my $location = $args{location} // '';
    my $extra = $args{extra} // '';
    my $port = test_port();
    open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
    print $fh <<"CONF";
load_module $module;
pid logs/nginx.pid;
error_log logs/error.log;
events {}
http {
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    access_log off;
    $http
    server {
        listen 127.0.0.1:$port;
        location /ws {
            $location
        }
        $extra
    }
}
CONF
    close $fh;
    my $bin = nginx_bin();
    my $out = `$bin -t -p $prefix/ -c conf/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

sub test_file_name {
    my $name = basename($0);
    $name =~ s/\.t$//;
    return $name;
}

sub servroot {
    my ($name) = @_;
    return repo_root() . '/t/servroot/' . ($name // test_file_name());
}


# ------------------------------------------------------------------ #
# Block runner                                                        #
# ------------------------------------------------------------------ #

sub section {
    my ($block, $name) = @_;
    my $v = $block->{$name};
    return undef unless defined $v;
    return ref $v eq 'ARRAY' ? (@$v > 1 ? $v : $v->[0]) : $v;
}

sub has_section {
    my ($block, $name) = @_;
    return exists $block->{$name};
}

sub run_tests {
    for my $block (Test::Base::blocks()) {
        run_block($block);
    }
}

sub run_block {
    my ($block) = @_;
    my $name = $block->name;
    my $timeout = section($block, 'timeout') // 5;
    my $port = section($block, 'port');
    $port = expand_vars($port, servroot()) if defined $port;

    my $ngx = eval {
        start_nginx(
            main_config => section($block, 'main_config'),
            http_config => section($block, 'http_config'),
            config      => section($block, 'config'),
            log_level   => section($block, 'log_level'),
        );
    };
    if (!$ngx) {
        Test::More::fail("$name - nginx started");
        Test::More::diag($@);
        return;
    }

    my %client = (
        port    => $port // test_port(),
        tls     => has_section($block, 'tls'),
        timeout => $timeout,
    );

    eval {
        if (has_section($block, 'ws_handshake') || has_section($block, 'ws_send')
            || has_section($block, 'ws_expect'))
        {
            run_ws_sections($block, \%client);
        } elsif (has_section($block, 'request') || has_section($block, 'raw_request')) {
            run_http_sections($block, \%client);
        }
        1;
    } or Test::More::fail("$name - client ran without error: $@");

    check_logs($ngx, $block);
}

sub run_http_sections {
    my ($block, $client) = @_;
    my $raw = section($block, 'raw_request');
    if (!defined $raw) {
        $raw = build_request(section($block, 'request'),
                             section($block, 'more_headers'),
                             [ ['Host', 'localhost'], ['Connection', 'close'] ]);
    }
    my $res = http_request(%$client, raw => $raw);
    check_response($block, $res);
}

sub run_ws_sections {
    my ($block, $client) = @_;
    my $name = $block->name;
    my $want_code = section($block, 'error_code') // 101;

    my $ws = Test::NgxWs::Client->new(%$client,
        no_close_reply => has_section($block, 'ws_no_close_reply'));
    my $res = $ws->handshake(section($block, 'ws_handshake'));

    if ($want_code != 101 || $res->{status} != 101) {
        $res = $ws->finish_http_response($res) if $res->{status} != 101;
        check_response($block, $res, 0, $want_code);
        return;
    }

    Test::More::ok($ws->{accept_ok}, "$name - handshake 101 with a correct "
                   . "Sec-WebSocket-Accept") or Test::More::diag($ws->{accept_error});
    check_response($block, $res, 1);

    my $ok = 1;
    for my $line (dsl_lines(section($block, 'ws_send'))) {
        if ($line =~ /^expect\s+(.*)$/) {
            $ok &&= $ws->expect($1, $name);
        } elsif ($line =~ /^expect_eof$/) {
            $ok &&= $ws->expect_eof($name);
        } else {
            $ws->send_dsl($line);
        }
    }

    if (has_section($block, 'ws_expect')) {
        my @want = dsl_lines(section($block, 'ws_expect'));
        my $seen = 0;
        for my $line (@want) {
            last unless $ws->expect($line, $name, 1);
            $seen++;
        }
        Test::More::is($seen, scalar @want,
                       "$name - server sent the expected messages");
    }

    if (has_section($block, 'ws_expect_eof')) {
        Test::More::ok($ws->expect_eof($name, 1), "$name - server closed TCP");
    }

    $ws->disconnect;
}

sub dsl_lines {
    my ($text) = @_;
    return () unless defined $text;
    return grep { length && !/^#/ } map { s/^\s+//r =~ s/\s+$//r } split /\n/, $text;
}

sub check_response {
    my ($block, $res, $skip_code, $default_code) = @_;
    my $name = $block->name;

    if (!$skip_code) {
        my $code = section($block, 'error_code') // $default_code // 200;
        Test::More::is($res->{status}, $code, "$name - status code");
    }

    if (defined(my $hdrs = section($block, 'response_headers'))) {
        for my $line (split /\n/, $hdrs) {
            next unless $line =~ /\S/;
            if ($line =~ /^\s*!\s*([\w-]+)\s*$/) {
                Test::More::ok(!defined $res->{header}{lc $1},
                               "$name - header $1 absent");
            } elsif ($line =~ /^\s*([\w-]+)\s*:\s*(.*?)\s*$/) {
                Test::More::is($res->{header}{lc $1}, $2, "$name - header $1");
            } else {
                die "bad response_headers line: $line\n";
            }
        }
    }

    if (has_section($block, 'response_body')) {
        Test::More::is($res->{body}, section($block, 'response_body') // '',
                       "$name - response body");
    }
    if (defined(my $like = section($block, 'response_body_like'))) {
        chomp $like;
        Test::More::like($res->{body}, ref $like ? $like : qr/$like/s,
                         "$name - response body like");
    }
}


# ------------------------------------------------------------------ #
# Logs                                                                #
# ------------------------------------------------------------------ #

sub patterns {
    my ($spec) = @_;
    return () unless defined $spec;
    $spec = [$spec] if ref $spec eq 'Regexp';
    return map { ref $_ eq 'Regexp' ? $_ : qr/\Q$_\E/ }
           ref $spec eq 'ARRAY' ? @$spec : grep { /\S/ } split /\n/, $spec;
}

sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        # a daemon that exited is reaped here, or it stays a zombie that
        # kill 0 finds alive
        Test::NgxWs::Isolation::reap_orphans();
        my $r = $cond->();
        return $r if $r;
        return $r if time >= $deadline;
        sleep 0.02;
    }
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    my $text = <$fh>;
    return $text // '';
}

# The lines worth showing when a log check fails: our own "ws:" lines of
# the error log, or the end of the access log.
sub log_excerpt {
    my ($file) = @_;
    my @lines = split /\n/, slurp($file);
    @lines = grep { /\bws: / } @lines if $file =~ /error\.log$/;
    @lines = @lines[-8 .. -1] if @lines > 8;
    return "$file ends with:\n" . join("\n", map { "    $_" } @lines);
}

# Checks the log sections of a block (or none, with $block undef), stops
# NGINX, then checks what must never be in the error log. allow => qr//
# (or a list of them) exempts the lines a test expects on purpose, e.g.
# NGINX's own [crit] about a TLS peer the test makes fail; keep it narrow.
sub check_logs {
    my ($ngx, $block, %opt) = @_;
    my $name = $block ? $block->name : $ngx->{name};
    my $timeout = ($block && section($block, 'timeout')) || 5;

    if ($block) {
        for my $log (['error_log', 'error.log'], ['access_log', 'access.log']) {
            my ($sec, $file) = @$log;
            for my $re (patterns(section($block, $sec))) {
                my $found = wait_for(sub {
                    slurp("$ngx->{prefix}/logs/$file") =~ $re }, $timeout);
                Test::More::ok($found, "$name - $file has $re")
                    or Test::More::diag(log_excerpt("$ngx->{prefix}/logs/$file"));
            }
        }
    }

    if (!$ngx->{stopped}) {
        Test::More::ok($ngx->is_running, "$name - nginx still running");
        Test::More::ok($ngx->stop, "$name - nginx exited on QUIT");
    }

    save_sanitizer_reports($ngx, $name);
    my @bad = bad_log_lines(slurp("$ngx->{prefix}/logs/error.log"),
                            never => [ $block ? patterns(section($block, 'no_error_log'))
                                              : () ],
                            allow => $opt{allow});
    Test::More::ok(!@bad, "$name - error.log clean")
        or Test::More::diag("unexpected in error.log:\n" . join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
}

# The lines of an error log that no test may leave: alerts, crashes,
# sanitizer reports, plus never => [qr//...], minus allow => qr// (or a
# list). For NGINX started outside start_nginx (the demo, the cluster).
sub bad_log_lines {
    my ($log, %opt) = @_;
    my @never = (qr/\[alert\]/, qr/\[emerg\]/, qr/\[crit\]/,
                 qr/AddressSanitizer/, qr/runtime error/, qr/exited on signal/,
                 # a worker that ASan or UBSan stopped exits with code 1
                 qr/exited with code [1-9]/, patterns($opt{never}));
    my @allow = patterns($opt{allow});
    my @bad;
    for my $re (@never) {
        push @bad, grep { my $line = $_;
                          $line =~ $re && !grep { $line =~ $_ } @allow }
                   split /\n/, $log;
    }
    return @bad;
}

# Under make asan, UBSan's reports (GCC's runtime, loaded beside ASan's)
# ignore log_path and go to the workers' stderr, that is the error log:
# they are copied to NGX_WS_SANITIZER_LOGS, where the run's summary shows
# them with ASan's. An NGINX whose logs were never checked (the file died
# first) is looked at when the file ends.
my %unchecked;    # prefix => the Test::NgxWs::Nginx started there

sub save_sanitizer_reports {
    my ($ngx, $name) = @_;
    delete $unchecked{$ngx->{prefix}};
    my $dir = $ENV{NGX_WS_SANITIZER_LOGS} or return;
    my @lines = grep { /runtime error|Sanitizer|^\s+#\d+ / }
                split /\n/, slurp("$ngx->{prefix}/logs/error.log");
    return unless grep { /runtime error|AddressSanitizer/ } @lines;
    open my $fh, '>>', "$dir/error-log." . test_file_name() or return;
    print $fh "== $name ($ngx->{prefix}/logs/error.log)\n",
              map { "$_\n" } @lines;
}

# The demo's backend (conf_examples/demo_backend.py) on 127.0.0.1:$port,
# its output in $log (emptied first); stopped when the test ends. Returns
# its process id once it accepts connections (dies if it does not in 10 s).
my @demo_backends;

sub start_demo_backend {
    my ($port, $log) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT or die $!;
        exec '/usr/bin/python3', repo_root() . '/conf_examples/demo_backend.py',
             '127.0.0.1', $port;
        die "exec: $!";
    }
    push @demo_backends, $pid;
    wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") }, 10)
        or die "the demo backend does not listen on $port\n";
    return $pid;
}

END {
    if ($$ == $Test::NgxWs::Isolation::OWNER) {
        local $?;
        for my $pid (@demo_backends) {
            kill 'TERM', $pid;
            waitpid $pid, 0;
        }
        save_sanitizer_reports($_, "$_->{name}, not checked")
            for values %unchecked;
    }
}


# ------------------------------------------------------------------ #
# NGINX process                                                       #
# ------------------------------------------------------------------ #

sub expand_vars {
    my ($text, $prefix) = @_;
    return $text unless defined $text;
    my $port  = test_port();
    my $port2 = $port + 1;
    $text =~ s/\$TEST_NGINX_SERVER_PORT2\b/$port2/g;
    $text =~ s/\$TEST_NGINX_SERVER_PORT\b/$port/g;
    $text =~ s/\$TEST_NGINX_SERVER_ROOT\b/$prefix/g;
    $text =~ s/\$(TEST_NGINX_\w+)/$ENV{$1} \/\/ "\$$1"/ge;
    $text =~ s/\$port2\b/$port2/g;
    $text =~ s/\$port\b/$port/g;
    $text =~ s/\$servroot\b/$prefix/g;
    return $text;
}

sub start_nginx {
    my %args = @_;
    my $ngx = Test::NgxWs::Nginx->new(%args);
    $ngx->start;
    return $ngx;
}

sub worker_pids {
    my ($master) = @_;
    my @pids;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my $stat = slurp("/proc/$pid/stat");
        next unless $stat =~ /^\d+ \(.*\) (\S) (\d+)/s;
        push @pids, $pid if $2 == $master && $1 ne 'Z';
    }
    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

sub vm_rss_kb {
    my ($pid) = @_;
    return slurp("/proc/$pid/status") =~ /^VmRSS:\s+(\d+)/m ? $1 : undef;
}

# Which of the given processes holds the server's end of a client's TCP
# connection: its socket's inode from /proc/net/tcp (the row whose remote
# port is the client's own), then the process with a descriptor on it.
sub socket_owner {
    my ($client, @pids) = @_;
    my $port = sprintf '%04X', $client->{sock}->sockport;
    my $inode;
    for my $row (split /\n/, slurp('/proc/net/tcp')) {
        my @f = split ' ', $row;
        next unless @f > 9 && $f[2] =~ /:$port$/ && $f[3] eq '01';
        $inode = $f[9];
        last;
    }
    return undef unless $inode;
    for my $pid (@pids) {
        opendir my $dh, "/proc/$pid/fd" or next;
        for my $fd (readdir $dh) {
            my $link = readlink "/proc/$pid/fd/$fd" // next;
            return $pid if $link eq "socket:[$inode]";
        }
    }
    return undef;
}

sub make_cert {
    my ($dir) = @_;
    return if -f "$dir/cert.pem" && -f "$dir/cert.key";
    my $rc = system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                    . "-nodes -keyout '$dir/cert.key' -out '$dir/cert.pem' -days 30 "
                    . "-subj /CN=localhost "
                    . "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1");
    die "openssl could not make a certificate in $dir\n" if $rc != 0;
}


package Test::NgxWs::Nginx;

use strict;
use warnings;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(time sleep);

sub new {
    my ($class, %args) = @_;
    my $self = bless { %args }, $class;
    $self->{name}   //= 'nginx';
    $self->{prefix} //= Test::NgxWs::servroot();
    return $self;
}

sub conf_text {
    my ($self) = @_;
    my $prefix = $self->{prefix};
    my $main   = $self->{main_config} // '';
    my $http   = $self->{http_config} // '';
    my $server = $self->{config} // '';
    my $level  = $self->{log_level} // 'debug';
    # port: another listen port, for tests that run several NGINX at once
    my $port   = $self->{port} // Test::NgxWs::test_port();
    my $has = sub { my ($text, $d) = @_; $text =~ /^\s*\Q$d\E\b/m };

    my $conf = '';
    $conf .= 'load_module ' . Test::NgxWs::module_path() . ";\n"
        unless $Test::NgxWs::WithoutModule && !-f Test::NgxWs::module_path();
    $conf .= "$main\n";
    $conf .= "daemon on;\n"                  unless $has->($main, 'daemon');
    $conf .= "master_process on;\n"          unless $has->($main, 'master_process');
    $conf .= "worker_processes 1;\n"         unless $has->($main, 'worker_processes');
    $conf .= "pid logs/nginx.pid;\n"         unless $has->($main, 'pid');
    $conf .= "error_log logs/error.log $level;\n" unless $has->($main, 'error_log');
    $conf .= "events {\n    worker_connections 1024;\n}\n"
        unless $has->($main, 'events');
    $conf .= "http {\n";
    for my $t (qw(client_body proxy fastcgi uwsgi scgi)) {
        $conf .= "    ${t}_temp_path $prefix/tmp/$t;\n";
    }
    $conf .= "    access_log logs/access.log;\n" unless $has->($http, 'access_log');
    $conf .= "$http\n";
    $conf .= "    server {\n";
    # listen_options: e.g. "reuseport", which spreads connections over
    # the workers so cross-worker tests do not depend on accept races
    my $listen_options = $self->{listen_options} ? " $self->{listen_options}" : '';
    $conf .= "        listen 127.0.0.1:$port$listen_options;\n";
    $conf .= "        server_name localhost;\n";
    $conf .= "$server\n";
    $conf .= "    }\n}\n";
    return Test::NgxWs::expand_vars($conf, $prefix);
}

sub pid_file { "$_[0]{prefix}/logs/nginx.pid" }

sub master_pid {
    my ($self) = @_;
    my $pid = Test::NgxWs::slurp($self->pid_file);
    return $pid =~ /(\d+)/ ? $1 : $self->{pid};
}

sub alive {
    my ($pid) = @_;
    return 0 unless $pid && kill 0, $pid;
    my $stat = Test::NgxWs::slurp("/proc/$pid/stat");
    return $stat !~ /^\d+ \(.*\) Z /s;
}

sub is_running {
    my ($self) = @_;
    return alive($self->{pid});
}

sub start {
    my ($self) = @_;
    my $prefix = $self->{prefix};

    # a previous run that was interrupted may have left its NGINX behind
    my $old = Test::NgxWs::slurp($self->pid_file);
    if ($old =~ /(\d+)/ && alive($1)) {
        kill 'TERM', $1;
        Test::NgxWs::wait_for(sub { !alive($1) }, 5);
    }

    remove_tree($prefix);
    make_path("$prefix/conf", "$prefix/logs", "$prefix/html", "$prefix/tmp");
    my $conf = $self->conf_text;
    Test::NgxWs::make_cert("$prefix/conf") if $conf =~ /cert\.pem/;
    open my $fh, '>', "$prefix/conf/nginx.conf" or die "conf: $!";
    print $fh $conf;
    close $fh;
    open $fh, '>', "$prefix/html/index.html" and print $fh "index\n";

    my $out = `@{[Test::NgxWs::nginx_bin()]} -p $prefix/ -c conf/nginx.conf 2>&1`;
    if ($? != 0) {
        die "nginx failed to start ($?): $out\n"
            . Test::NgxWs::slurp("$prefix/logs/error.log");
    }
    my $up = Test::NgxWs::wait_for(sub { $self->master_pid }, 5);
    die "nginx wrote no pid file\n" unless $up;
    $self->{pid} = $self->master_pid;
    Test::NgxWs::Isolation::track($self->{pid});
    $unchecked{$prefix} = $self;
    return $self;
}

sub signal {
    my ($self, $sig) = @_;
    kill $sig, $self->{pid};
}

# Sends QUIT and waits for the master to go; TERM then KILL if it hangs.
# Returns true when NGINX exited on QUIT within $timeout seconds.
sub stop {
    my ($self, $timeout) = @_;
    my $pid = $self->{pid} or return 1;
    $self->{stopped} = 1;
    return 1 unless alive($pid);
    kill 'QUIT', $pid;
    my $ok = Test::NgxWs::wait_for(sub { !alive($pid) }, $timeout // 8);
    unless ($ok) {
        kill 'TERM', $pid;
        Test::NgxWs::wait_for(sub { !alive($pid) }, 3)
            or kill 'KILL', $pid, Test::NgxWs::worker_pids($pid);
    }
    return $ok;
}

sub error_log  { Test::NgxWs::slurp("$_[0]{prefix}/logs/error.log") }
sub access_log { Test::NgxWs::slurp("$_[0]{prefix}/logs/access.log") }
# The master answers on its port before its workers are forked: wait for
# them (up to 5 s) so a test never reads an empty list by accident; with
# $count, until that many are up (the second of two may come a moment
# after the first, under a sanitizer).
sub workers {
    my ($self, $count) = @_;
    my @pids;
    for (1 .. 100) {
        @pids = Test::NgxWs::worker_pids($self->{pid});
        last if @pids && (!$count || @pids >= $count);
        select(undef, undef, undef, 0.05);
    }
    return @pids;
}


package Test::NgxWs;

# ------------------------------------------------------------------ #
# Plain HTTP                                                          #
# ------------------------------------------------------------------ #

# Request text from "GET /uri [HTTP/1.x]\nbody", more_headers and defaults.
sub build_request {
    my ($request, $more, $defaults) = @_;
    $request //= "GET /\n";
    my ($line, $body) = split /\n/, $request, 2;
    $line =~ s/^\s+|\s+$//g;
    $line .= ' HTTP/1.1' unless $line =~ m{ HTTP/\d\.\d$};
    my @headers = map { [@$_] } @$defaults;
    my @extra;
    for my $h (split /\n/, $more // '') {
        next unless $h =~ /\S/;
        if ($h =~ /^\s*!\s*([\w-]+)\s*$/) {
            @headers = grep { lc $_->[0] ne lc $1 } @headers;
        } elsif ($h =~ /^\s*([\w-]+)\s*:\s?(.*?)\s*$/) {
            my ($n, $v) = ($1, $2);
            @headers = grep { lc $_->[0] ne lc $n } @headers;
            push @extra, [$n, $v];
        } else {
            die "bad header line: $h\n";
        }
    }
    push @headers, @extra;
    if (defined $body && length $body) {
        push @headers, ['Content-Length', length $body];
    } else {
        $body = '';
    }
    return join('', "$line\r\n", map({ "$_->[0]: $_->[1]\r\n" } @headers),
                "\r\n", $body);
}

sub open_socket {
    my (%args) = @_;
    my $port = $args{port} // test_port();
    # host: another address than loopback (the chaos tests' veth links)
    my $host = $args{host} // '127.0.0.1';
    my $sock;
    if ($args{rcvbuf}) {            # small receive window, set before connect
        $sock = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $@\n";
        setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), $args{rcvbuf})
            or die "SO_RCVBUF: $!\n";
        $sock->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton($host)))
            or die "connect to $host:$port failed: $!\n";
    } else {
        $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                      Proto => 'tcp', Timeout => $args{timeout} // 5)
            or die "connect to $host:$port failed: $@\n";
    }
    $sock->autoflush(1);
    if ($args{tls}) {
        require IO::Socket::SSL;
        IO::Socket::SSL->start_SSL($sock, SSL_verify_mode => 0,
                                   SSL_hostname => 'localhost',
                                   Timeout => $args{timeout} // 5)
            or die "TLS handshake failed: " . IO::Socket::SSL::errstr() . "\n";
    }
    return $sock;
}

# Reads what is available within the deadline and appends it to $$buf.
# Returns bytes read, 0 on EOF; dies on timeout.
sub read_some {
    my ($sock, $buf, $deadline) = @_;
    while (1) {
        if (!(ref $sock ne 'IO::Socket::INET' && $sock->can('pending') && $sock->pending)) {
            my $left = $deadline - time;
            die "timed out reading from nginx\n" if $left <= 0;
            my $sel = IO::Select->new($sock);
            next unless $sel->can_read($left);
        }
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;
            return 0 if $! == ECONNRESET;
            if (ref $sock ne 'IO::Socket::INET') {     # TLS wants more
                next if $IO::Socket::SSL::SSL_ERROR
                        && ($IO::Socket::SSL::SSL_ERROR == IO::Socket::SSL::SSL_WANT_READ()
                            || $IO::Socket::SSL::SSL_ERROR == IO::Socket::SSL::SSL_WANT_WRITE());
                return 0;
            }
            die "read failed: $!\n";
        }
        return $n;
    }
}

sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($sock, $data, 65536, $off);
        if (!defined $n) {
            if ($! == EAGAIN || $! == EINTR || $! == EWOULDBLOCK) { sleep 0.001; next }
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# Parses a response head in $$buf; returns the response or undef if the head
# is not complete yet. The head is removed from $$buf.
sub parse_head {
    my ($buf) = @_;
    my $end = index $$buf, "\r\n\r\n";
    return undef if $end < 0;
    my $head = substr $$buf, 0, $end + 4, '';
    my ($status_line, @lines) = split /\r\n/, $head;
    my %res = (status_line => $status_line, head => $head, header => {},
               headers => []);
    ($res{status}) = $status_line =~ m{^HTTP/\d\.\d (\d{3})};
    $res{status} //= 0;
    for my $l (@lines) {
        next unless $l =~ /^([^:]+):\s*(.*?)\s*$/;
        push @{$res{headers}}, [$1, $2];
        my $k = lc $1;
        $res{header}{$k} = defined $res{header}{$k} ? "$res{header}{$k}, $2" : $2;
    }
    return \%res;
}

# Reads the body of $res from $sock (with $$buf holding bytes read already).
sub read_body {
    my ($sock, $buf, $res, $deadline, $method) = @_;
    my $s = $res->{status};
    if (($method // '') eq 'HEAD' || $s < 200 || $s == 204 || $s == 304) {
        $res->{body} = '';
        return $res;
    }
    my $eof = 0;
    my $more = sub {
        return 0 if $eof;
        my $n = eval { read_some($sock, $buf, $deadline) };
        $eof = 1 if !$n;
        return $n;
    };
    if (($res->{header}{'transfer-encoding'} // '') =~ /chunked/i) {
        my $body = '';
        while (1) {
            while ($$buf !~ /\r\n/) { $more->() or last }
            last unless $$buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//;
            my $len = hex $1;
            while (length $$buf < $len + 2) { $more->() or last }
            $body .= substr $$buf, 0, $len, '';
            $$buf =~ s/^\r\n//;
            last if $len == 0;
        }
        $res->{body} = $body;
    } elsif (defined(my $len = $res->{header}{'content-length'})) {
        while (length $$buf < $len) { $more->() or last }
        $res->{body} = substr $$buf, 0, $len, '';
    } else {
        while ($more->()) {}
        $res->{body} = $$buf;
        $$buf = '';
    }
    return $res;
}

# http_request(raw => $bytes, port =>, tls =>, timeout =>) -> response hash
# { status, status_line, header => {lc name => value}, headers, body }
sub http_request {
    my (%args) = @_;
    my $sock = open_socket(%args);
    my $deadline = time + ($args{timeout} // 5);
    write_all($sock, $args{raw});
    my $buf = '';
    my $res;
    until ($res = parse_head(\$buf)) {
        my $n = eval { read_some($sock, \$buf, $deadline) };
        if (!$n) {
            return { status => 0, header => {}, headers => [], body => $buf,
                     error => $@ || 'connection closed before a response' };
        }
    }
    my ($method) = $args{raw} =~ /^(\S+)/;
    read_body($sock, \$buf, $res, $deadline, $method);
    close $sock;
    return $res;
}

# scrape_metrics(uri => '/metrics', port =>) -> { series => value }: the
# Prometheus exposition of a ws_status location, comments left out.
sub scrape_metrics {
    my (%args) = @_;
    my $uri = delete $args{uri} // '/metrics';
    my $res = http_request(%args, raw => "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                                         . "Connection: close\r\n\r\n");
    my %m;
    for (split /\n/, $res->{body}) {
        $m{$1} = $2 if /^([^#]\S*) (\S+)$/;
    }
    return \%m;
}


# ------------------------------------------------------------------ #
# WebSocket payload helpers                                           #
# ------------------------------------------------------------------ #

my $text_pattern = join '', 'a' .. 'z', 0 .. 9;
my $binary_pattern = pack 'C*', map { ($_ * 97 + 13) % 256 } 0 .. 250;

sub gen_payload {
    my ($kind, $len) = @_;
    my $p = $kind eq 'text' ? $text_pattern : $binary_pattern;
    my $s = $p x (int($len / length $p) + 1);
    return substr $s, 0, $len;
}

our %OPCODE = (cont => 0, continuation => 0, text => 1, binary => 2,
               close => 8, ping => 9, pong => 10);
our %OPNAME = reverse %OPCODE;
$OPNAME{0} = 'cont';

sub unhex {
    my ($h) = @_;
    $h =~ s/\s+//g;
    return pack 'H*', $h;
}

sub describe {
    my ($m) = @_;
    return 'EOF' unless $m;
    my $p = $m->{payload} // '';
    my $show = length $p > 40 ? substr($p, 0, 40) . '...' : $p;
    $show = $show =~ /[^\x20-\x7e]/ ? 'hex ' . unpack('H*', $show) : "'$show'";
    my $d = "$m->{op} (" . length($p) . " bytes) $show";
    $d .= " code=$m->{code}" if defined $m->{code};
    return $d;
}


package Test::NgxWs::Client;

use strict;
use warnings;
no warnings 'portable';
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);

sub new {
    my ($class, %args) = @_;
    my $self = bless { timeout => 5, port => Test::NgxWs::test_port(), %args },
               $class;
    $self->{buf} = '';
    $self->{sock} = Test::NgxWs::open_socket(%$self);
    return $self;
}

# Sends the opening handshake (spec: see ws_handshake in the POD) and
# reads the response head; leftover bytes stay in the frame buffer.
sub handshake {
    my ($self, $spec) = @_;
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $line = 'GET /ws HTTP/1.1';
    my @lines = split /\n/, $spec // '';
    if (@lines && $lines[0] =~ m{^\s*[A-Z]+\s+/}) {
        $line = shift @lines;
    }
    $line =~ s/^\s+|\s+$//g;
    my $raw = Test::NgxWs::build_request($line, join("\n", @lines), [
        ['Host', 'localhost'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', $key],
        ['Sec-WebSocket-Version', '13'],
    ]);
    ($self->{key}) = $raw =~ /^Sec-WebSocket-Key: ?(.*?)\r$/mi;
    $self->{request} = $raw;
    Test::NgxWs::write_all($self->{sock}, $raw);

    my $deadline = time + $self->{timeout};
    my $res;
    until ($res = Test::NgxWs::parse_head(\$self->{buf})) {
        my $n = eval { Test::NgxWs::read_some($self->{sock}, \$self->{buf}, $deadline) };
        return { status => 0, header => {}, headers => [], body => $self->{buf},
                 error => $@ || 'closed before the handshake answer' } unless $n;
    }
    $self->{response} = $res;

    if ($res->{status} == 101) {
        my $want = encode_base64(sha1(($self->{key} // '')
                                 . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');
        my @err;
        push @err, "Sec-WebSocket-Accept is "
                   . ($res->{header}{'sec-websocket-accept'} // 'absent')
                   . ", want $want"
            unless ($res->{header}{'sec-websocket-accept'} // '') eq $want;
        push @err, 'Upgrade is not websocket'
            unless ($res->{header}{upgrade} // '') =~ /^websocket$/i;
        push @err, 'Connection has no upgrade'
            unless ($res->{header}{connection} // '') =~ /\bupgrade\b/i;
        $self->{accept_ok} = !@err;
        $self->{accept_error} = join '; ', @err;
        $self->{open} = 1;
        $res->{body} = '';
    }
    return $res;
}

sub finish_http_response {
    my ($self, $res) = @_;
    my ($method) = $self->{request} =~ /^(\S+)/;
    Test::NgxWs::read_body($self->{sock}, \$self->{buf}, $res,
                           time + $self->{timeout}, $method);
    return $res;
}

sub disconnect {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{sock} = undef;
}

# ---- sending ----

# encode_frame(fin =>, rsv =>, op =>, mask =>, mask_key =>, payload =>,
#              len_enc =>, len_field =>)
sub encode_frame {
    my (%f) = @_;
    my $payload = $f{payload} // '';
    my $fin  = $f{fin} // 1;
    my $rsv  = $f{rsv} // 0;
    my $mask = $f{mask} // 1;
    my $len  = $f{len_field} // length $payload;
    my $enc  = $f{len_enc} // ($len < 126 ? 7 : $len < 65536 ? 16 : 64);

    my $out = chr(($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($f{op} & 0x0f));
    my $mbit = $mask ? 0x80 : 0;
    if ($enc == 7) {
        $out .= chr($mbit | $len);
    } elsif ($enc == 16) {
        $out .= chr($mbit | 126) . pack('n', $len);
    } else {
        $out .= chr($mbit | 127) . pack('Q>', $len);
    }
    if ($mask) {
        my $key = defined $f{mask_key} ? Test::NgxWs::unhex($f{mask_key})
                                       : pack('N', int rand 2**32);
        $out .= $key;
        my $k = substr($key x (int(length($payload) / 4) + 1), 0, length $payload);
        $payload = $payload ^ $k;
    }
    return $out . $payload;
}

sub send_raw {
    my ($self, $bytes) = @_;
    return Test::NgxWs::write_all($self->{sock}, $bytes);
}

sub send_frame {
    my ($self, %f) = @_;
    $f{op} = $Test::NgxWs::OPCODE{$f{op}} if $f{op} !~ /^\d+$/;
    $self->{close_sent} = 1 if $f{op} == 8;
    return $self->send_raw(encode_frame(%f));
}

sub send_text   { my ($s, $p) = @_; $s->send_frame(op => 1, payload => $p) }
sub send_binary { my ($s, $p) = @_; $s->send_frame(op => 2, payload => $p) }
sub send_ping   { my ($s, $p) = @_; $s->send_frame(op => 9, payload => $p // '') }
sub send_pong   { my ($s, $p) = @_; $s->send_frame(op => 10, payload => $p // '') }

sub close_payload {
    my ($code, $reason) = @_;
    return '' unless defined $code;
    return pack('n', $code) . ($reason // '');
}

sub send_close {
    my ($self, $code, $reason) = @_;
    return $self->send_frame(op => 8, payload => close_payload($code, $reason));
}

# Parses a DSL payload spec into (op name, payload or undef for "*").
sub parse_message_spec {
    my ($line) = @_;
    my ($kind, $rest) = $line =~ /^(\w+)(?:\s(.*))?$/s
        or die "bad frame line: $line\n";
    $rest //= '';
    if ($kind =~ /^(text|binary|ping|pong)_hex$/) {
        return ($1, Test::NgxWs::unhex($rest));
    }
    if ($kind =~ /^(text|binary|ping|pong)$/) {
        return ($kind, undef) if $rest eq '*';
        return ($kind, Test::NgxWs::gen_payload($kind eq 'text' ? 'text' : 'binary', $1))
            if $rest =~ /^len=(\d+)$/;
        return ($kind, $rest);
    }
    if ($kind eq 'close_raw_hex') {
        return ('close', Test::NgxWs::unhex($rest));
    }
    if ($kind eq 'close') {
        return ('close', undef, 1) if $rest eq '*';
        return ('close', '') if $rest eq '';
        my ($code, $reason) = $rest =~ /^(\d+)(?:\s(.*))?$/s
            or die "bad close line: $line\n";
        return ('close', close_payload($code, $reason), 0, $code, $reason);
    }
    die "unknown frame kind in: $line\n";
}

sub send_dsl {
    my ($self, $line) = @_;
    if ($line =~ /^sleep\s+([\d.]+)$/) {
        sleep $1;
    } elsif ($line =~ /^raw_hex\s+(.*)$/) {
        $self->send_raw(Test::NgxWs::unhex($1));
    } elsif ($line =~ /^frame\b\s*(.*)$/) {
        my $opts = $1;
        my %f;
        if ($opts =~ s/(?:^|\s)payload=(.*)$//) {
            $f{payload} = $1;
        }
        for my $kv (split ' ', $opts) {
            my ($k, $v) = $kv =~ /^(\w+)=(.*)$/ or die "bad frame option: $kv\n";
            $v = hex $v if $v =~ /^0x[0-9a-f]+$/i;
            $f{$k} = $v;
        }
        $f{op} //= 1;
        $f{op} = $Test::NgxWs::OPCODE{$f{op}} // die "bad op $f{op}\n"
            if $f{op} !~ /^\d+$/;
        $f{payload} = Test::NgxWs::unhex(delete $f{payload_hex})
            if defined $f{payload_hex};
        $f{payload} = Test::NgxWs::gen_payload($f{op} == 1 ? 'text' : 'binary',
                                               delete $f{len})
            if defined $f{len};
        $self->send_frame(%f);
    } else {
        my ($op, $payload) = parse_message_spec($line);
        die "cannot send '*': $line\n" unless defined $payload;
        $self->send_frame(op => $op, payload => $payload);
    }
}

# ---- receiving ----

# Reads one frame; returns { fin, rsv, op (number), masked, payload } or
# undef on EOF. Dies on timeout.
sub read_frame {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    my $buf = \$self->{buf};
    while (1) {
        if (length $$buf >= 2) {
            my ($b0, $b1) = unpack 'CC', $$buf;
            my $len = $b1 & 0x7f;
            my $hl = 2;
            if ($len == 126) { $hl = 4 }
            elsif ($len == 127) { $hl = 10 }
            my $masked = $b1 & 0x80;
            $hl += 4 if $masked;
            if (length $$buf >= $hl) {
                # by the 7-bit code: a 16-bit length of 127 is not a
                # 64-bit one
                my $code = $b1 & 0x7f;
                $len = unpack 'n', substr($$buf, 2, 2) if $code == 126;
                $len = unpack 'Q>', substr($$buf, 2, 8) if $code == 127;
                if (length $$buf >= $hl + $len) {
                    my $frame = substr $$buf, 0, $hl + $len, '';
                    my $payload = substr $frame, $hl;
                    if ($masked) {
                        my $key = substr $frame, $hl - 4, 4;
                        $payload ^= substr($key x (int($len / 4) + 1), 0, $len);
                    }
                    return { fin => $b0 >> 7, rsv => ($b0 >> 4) & 7,
                             op => $b0 & 0x0f, masked => $masked ? 1 : 0,
                             payload => $payload, len_bytes => $hl };
                }
            }
        }
        my $n = Test::NgxWs::read_some($self->{sock}, $buf, $deadline);
        return undef unless $n;
    }
}

# Reads one message (control frames come back as they arrive, fragmented
# data messages reassembled). Returns { op => name, payload, code, reason,
# errors => [...] } or undef on EOF. Answers a server close unless the
# client already sent one or no_close_reply is set.
sub read_message {
    my ($self, $timeout) = @_;
    my @errors;
    while (1) {
        my $f = $self->read_frame($timeout) or return undef;
        push @errors, 'server frame is masked' if $f->{masked};
        push @errors, "server frame has RSV bits $f->{rsv}" if $f->{rsv};
        my $op = $f->{op};
        if ($op >= 8) {
            push @errors, 'fragmented control frame' unless $f->{fin};
            my $m = { op => $Test::NgxWs::OPNAME{$op} // "op$op",
                      payload => $f->{payload}, errors => \@errors };
            if ($op == 8) {
                if (length $f->{payload} >= 2) {
                    $m->{code} = unpack 'n', $f->{payload};
                    $m->{reason} = substr $f->{payload}, 2;
                }
                $self->{close_received} = $m;
                if (!$self->{close_sent} && !$self->{no_close_reply}) {
                    $self->send_close($m->{code});
                }
            }
            return $m;
        }
        if ($op == 0) {
            if (!$self->{partial}) {
                push @errors, 'continuation frame without a message';
                $self->{partial} = { op => 'cont', payload => '' };
            }
            $self->{partial}{payload} .= $f->{payload};
        } else {
            push @errors, 'new data frame inside a fragmented message'
                if $self->{partial};
            $self->{partial} = { op => $Test::NgxWs::OPNAME{$op} // "op$op",
                                 payload => $f->{payload} };
        }
        if ($f->{fin}) {
            my $m = delete $self->{partial};
            $m->{errors} = \@errors;
            return $m;
        }
    }
}

# Reads the next message and checks it against one DSL line. Returns true on
# a match. $quiet leaves the passing case untested (one test per section).
sub expect {
    my ($self, $line, $name, $quiet) = @_;
    my ($op, $payload, $any_close, $code, $reason) = parse_message_spec($line);
    my $got = eval { $self->read_message };
    my $err = $@;
    my $label = "$name - server sends: $line";
    if (!$got) {
        Test::More::fail($label);
        Test::More::diag($err ? "got: $err" : 'got: EOF');
        return 0;
    }
    my @why = @{$got->{errors} || []};
    if ($got->{op} ne $op) {
        push @why, "op is $got->{op}";
    } elsif ($op eq 'close' && defined $code && !defined $reason) {
        push @why, 'close code is ' . ($got->{code} // 'absent')
            unless ($got->{code} // -1) == $code;
    } elsif (defined $payload && $got->{payload} ne $payload) {
        push @why, 'payload differs';
    }
    if (@why) {
        Test::More::fail($label);
        Test::More::diag('got: ' . Test::NgxWs::describe($got) . ' (' . join('; ', @why) . ')');
        return 0;
    }
    Test::More::pass($label) unless $quiet;
    return 1;
}

# True when the server closes TCP (EOF or reset) with nothing else sent.
sub expect_eof {
    my ($self, $name, $quiet, $timeout) = @_;
    my $got = eval { $self->read_message($timeout) };
    my $err = $@;
    my $ok = !$got && !$err;
    if (!$quiet) {
        Test::More::ok($ok, "$name - server closed TCP");
    }
    if (!$ok) {
        Test::More::diag($err ? "waiting for EOF: $err"
                              : 'got instead of EOF: ' . Test::NgxWs::describe($got));
    }
    return $ok;
}


package Test::NgxWs;

# ws_connect(port =>, uri =>, tls =>, headers => "Name: v\n...", timeout =>)
# Returns a connected Test::NgxWs::Client; dies unless the answer is a valid 101.
sub ws_connect {
    my (%args) = @_;
    # it made checks that could not fail: is() on what it returned
    die "ws_connect(expect_status => N) is gone: check the status of "
        . "ws_handshake_answer() with is()\n" if exists $args{expect_status};
    my $uri = delete $args{uri} // '/ws';
    my $headers = delete $args{headers} // '';
    my $ws = Test::NgxWs::Client->new(%args);
    my $res = $ws->handshake("GET $uri HTTP/1.1\n$headers");
    die "handshake to $uri answered $res->{status}"
        . ($res->{error} ? " ($res->{error})" : '') . "\n"
        unless $res->{status} == 101;
    die "bad handshake answer: $ws->{accept_error}\n" unless $ws->{accept_ok};
    return $ws;
}

# ws_handshake_answer(same arguments as ws_connect): the answer to an
# upgrade request whatever its status ({ status, header, ... }; status 0
# when the connection ended first), the connection then closed. For tests
# that check a refusal with is() (ws_connect dies on anything but a 101).
sub ws_handshake_answer {
    my (%args) = @_;
    my $uri = delete $args{uri} // '/ws';
    my $headers = delete $args{headers} // '';
    my $ws = Test::NgxWs::Client->new(%args);
    my $res = $ws->handshake("GET $uri HTTP/1.1\n$headers");
    $ws->disconnect;
    return $res;
}

1;
