# The log_format examples of conf_examples/log_formats.conf: the JSON one
# gives one valid JSON object per line, for WebSockets and for plain
# requests alike, with the session's figures and who closed it; its ws_id
# is the "*N" of the session's error-log lines.
use Test::NgxWs;
use Test::More;
use JSON::PP;

my $root = repo_root();

my $ngx = start_nginx(name => 'log formats', log_level => 'info', http_config => <<"CONF",
    include $root/conf_examples/log_formats.conf;
    access_log logs/ws.log ws_json;
    access_log logs/kv.log ws_kv;
CONF
    config => <<'CONF');
    location = /echo { ws_listen; ws_echo on; }
    location = /idle { ws_listen; ws_idle_timeout 200ms; }
CONF

my $ws = ws_connect(uri => '/echo', headers => "User-Agent: test \"quoted\"\n");
$ws->send_text('a');
$ws->expect('text a', 'echo', 1);
$ws->send_binary('bb');
$ws->expect('binary bb', 'echo', 1);
$ws->send_close(1000);
$ws->expect('close 1000', 'client closes');

$ws = ws_connect(uri => '/idle');
$ws->expect('close 1001', 'idle timeout closes');

my $res = http_request(raw => "GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($res->{status}, 426, 'a plain request');

my $log = "$ngx->{prefix}/logs/ws.log";
ok(wait_for(sub { my @l = split /\n/, Test::NgxWs::slurp($log); @l == 3 }, 5), 'three lines');
my @lines = map { decode_json($_) } split /\n/, Test::NgxWs::slurp($log);
my ($echo) = grep { $_->{request} =~ m{^GET /echo} && $_->{status} eq '101' } @lines;
my ($idle) = grep { $_->{request} =~ m{^GET /idle} } @lines;
my ($plain) = grep { $_->{status} eq '426' } @lines;

is_deeply([@$echo{qw(ws_close_code ws_closed_by ws_messages_in ws_messages_out user_agent)}],
          ['1000', 'client', '2', '2', 'test "quoted"'], 'JSON line of the echo session');
like($echo->{ws_duration}, qr/^\d+\.\d{3}$/, 'duration in seconds');
is($echo->{ws_bytes_in}, 7 + 8 + 8, 'bytes in');
is_deeply([@$idle{qw(ws_close_code ws_closed_by)}], ['1001', 'server'],
          'JSON line of the idle session: the server closed');
is_deeply([@$plain{qw(ws_id ws_close_code ws_closed_by)}], ['', '', ''],
          'a plain request: empty WebSocket fields, still valid JSON');

my $id = $echo->{ws_id};
like($ngx->error_log, qr/\*$id ws: peer closed with 1000/,
     'the error log names the session by the same id');
like($ngx->error_log, qr/\*$id ws: connection closed, code 1000/, 'and its end');

like(Test::NgxWs::slurp("$ngx->{prefix}/logs/kv.log"),
     qr{"GET /echo HTTP/1.1" 101 ws_id=$id close=1000 closed_by=client duration=\S+ in=2 out=2 bytes_in=23 bytes_out=\d+$}m,
     'the key=value line');

check_logs($ngx);
done_testing();
