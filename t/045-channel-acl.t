# Channel permissions from the token: ws_auth_jwt_channels_claim bounds, on
# top of ws_channels_allow, what a user may subscribe and publish to;
# refusals are protocol errors (or 403 at the handshake), logged and
# counted in $ws_acl_denied.
use Test::NgxWs;
use Test::NgxWsJwt;
use Test::More;
use File::Path qw(make_path);

my $port = test_port();
my $dir = repo_root() . '/t/servroot/045-acl-keys';
make_path($dir);
my $secret = 'acl-test-secret-of-at-least-32-bytes!!';
open my $kf, '>', "$dir/hs.key" or die $!;
print $kf $secret;
close $kf;
sub token { jwt_token(alg => 'HS256', secret => $secret, claims => json_obj(@_)) }

my $ngx = start_nginx(name => 'acl', log_level => 'info', http_config => <<'CONF',
    ws_zone acl 1m;
    log_format acl 'user=$ws_user acl_denied=$ws_acl_denied code=$ws_close_code';
    access_log logs/access.log acl;
CONF
    config => <<"CONF");
    location = /ws {
        ws_listen; ws_protocol json; ws_channels_allow room:* news;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs.key;
        ws_auth_jwt_channels_claim channels;
    }
    location ~ ^/r/(?<room>[a-z]+)\$ {
        ws_listen; ws_subscribe room:\$room;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $dir/hs.key;
        ws_auth_jwt_channels_claim channels;
    }
    location ~ ^/pub/(?<ch>.+)\$ { ws_publisher \$ch; }
CONF

my $name = 'claims bound the control protocol';
my $ws = ws_connect(uri => '/ws', headers => "Authorization: Bearer "
    . token(sub => 'alice', channels => ['room:a*', 'admin']) . "\n");
my $n = 0;
sub req {
    my ($ws, $json, $want, $what) = @_;
    $n++;
    $ws->send_text($json =~ s/ID/$n/r);
    $ws->expect('text ' . ($want =~ s/ID/$n/r), "$name - $what");
}
req($ws, '{"op":"subscribe","id":ID,"channel":"room:abc"}', '{"op":"ack","id":ID}',
    'a channel both allow');
req($ws, '{"op":"subscribe","id":ID,"channel":"room:b"}',
    '{"op":"error","id":ID,"code":"forbidden","message":"channel not allowed by the token"}',
    'the location allows, the token does not');
req($ws, '{"op":"subscribe","id":ID,"channel":"admin"}',
    '{"op":"error","id":ID,"code":"forbidden","message":"channel not allowed"}',
    'the token allows, the location does not');
req($ws, '{"op":"publish","id":ID,"channel":"room:b","data":1}',
    '{"op":"error","id":ID,"code":"forbidden","message":"channel not allowed by the token"}',
    'publishing is bounded too');
req($ws, '{"op":"publish","id":ID,"channel":"room:a1","data":1}', '{"op":"ack","id":ID,"seq":1}',
    'publishing inside the claim');
req($ws, '{"op":"unsubscribe","id":ID,"channel":"room:abc"}', '{"op":"ack","id":ID}',
    'unsubscribing is always allowed');
ok(wait_for(sub { $ngx->error_log =~ /ws: channel "room:b" not allowed by the token's claim/ }, 3),
   "$name - logged");
$ws->send_close(1000);
$ws->expect('close 1000', $name);
ok(wait_for(sub { $ngx->access_log =~ /^user=alice acl_denied=3 code=1000$/m }, 3),
   "$name - \$ws_acl_denied counts the 3 refusals");
$ws->disconnect;

$name = 'a token without the claim';
$ws = ws_connect(uri => '/ws', headers => "Authorization: Bearer " . token(sub => 'bob') . "\n");
req($ws, '{"op":"subscribe","id":ID,"channel":"room:abc"}',
    '{"op":"error","id":ID,"code":"forbidden","message":"channel not allowed by the token"}',
    'grants nothing');
$ws->disconnect;

$name = 'a claim of the wrong type';
$ws = ws_connect(uri => '/ws', headers => "Authorization: Bearer "
    . token(sub => 'carl', channels => \'{"room:*":true}') . "\n");
req($ws, '{"op":"subscribe","id":ID,"channel":"room:abc"}',
    '{"op":"error","id":ID,"code":"forbidden","message":"channel not allowed by the token"}',
    'grants nothing');
$ws->disconnect;

$name = 'ws_subscribe channels at the handshake';
my $t = token(sub => 'dora', channels => 'room:a*');
$ws = ws_connect(uri => '/r/apple', headers => "Authorization: Bearer $t\n");
my $res = http_request(port => $port, raw => "POST /pub/room:apple HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\nContent-Length: 2\r\n\r\nhi");
$ws->expect('text hi', "$name - a room inside the claim upgrades and receives");
$ws->disconnect;
$res = ws_handshake_answer(uri => '/r/banana', headers => "Authorization: Bearer $t\n");
is($res->{status}, 403, "$name - a room outside the claim gets 403");
ok(wait_for(sub { $ngx->error_log =~ /handshake rejected with 403: channel not allowed by the token/ }, 3),
   "$name - logged");

check_logs($ngx);
done_testing();
