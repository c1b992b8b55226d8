# Token auth: ws_auth_jwt verifies a JWT before the upgrade (401 for a bad
# or missing one), with keys of every supported algorithm made at test
# time; claims checks (exp, nbf with leeway, iss, aud); token sources;
# $ws_user and $ws_jwt_claim_* in ws_subscribe and the access log.
use Test::NgxWs;
use Test::NgxWsJwt;
use Test::More;
use File::Path qw(make_path);

my $port = test_port();
my $dir = repo_root() . '/t/servroot/041-jwt-keys';
make_path($dir);
my $k = make_keys($dir);

my $now = time;
my $good = json_obj(sub => 'alice', role => 'admin', exp => $now + 3600);

my $http = <<'CONF';
    ws_zone jwt 1m;
    large_client_header_buffers 4 16k;
    log_format jwt 'user=$ws_user role=$ws_jwt_claim_role exp=$ws_jwt_claim_exp code=$ws_close_code uri=$uri';
    access_log logs/access.log jwt;
CONF

my $config = '';
for my $alg (qw(HS256 HS384 HS512)) {
    $config .= "location = /\L$alg\E { ws_listen; ws_echo on; ws_auth_jwt on; "
             . "ws_auth_jwt_key $alg $k->{$alg}{public}; }\n";
}
for my $alg (qw(RS256 RS384 RS512)) {
    $config .= "location = /\L$alg\E { ws_listen; ws_echo on; ws_auth_jwt on; "
             . "ws_auth_jwt_key $alg $k->{RSA}{public}; }\n";
}
$config .= <<"CONF";
    location = /es256 { ws_listen; ws_echo on; ws_auth_jwt on; ws_auth_jwt_key ES256 $k->{P256}{public}; }
    location = /es384 { ws_listen; ws_echo on; ws_auth_jwt on; ws_auth_jwt_key ES384 $k->{P384}{public}; }
    location = /es512 { ws_listen; ws_echo on; ws_auth_jwt on; ws_auth_jwt_key ES512 $k->{P521}{public}; }
    location = /eddsa { ws_listen; ws_echo on; ws_auth_jwt on; ws_auth_jwt_key EdDSA $k->{Ed25519}{public}; }
    location = /rotate {
        ws_listen; ws_echo on; ws_auth_jwt on;
        ws_auth_jwt_key RS256 $k->{RSA2}{public};
        ws_auth_jwt_key RS256 $k->{RSA}{public};
        ws_auth_jwt_key EdDSA $k->{Ed25519}{public};
    }
    location = /claims {
        ws_listen; ws_echo on; ws_auth_jwt on;
        ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_auth_jwt_issuer https://issuer.example;
        ws_auth_jwt_audience chat;
        ws_auth_jwt_leeway 30s;
    }
    location = /sources {
        ws_listen; ws_echo on; ws_auth_jwt on;
        ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_auth_jwt_token arg=access_token cookie=jwt protocol=bearer. header;
        ws_subprotocols chat;
    }
    location = /feed {
        ws_listen; ws_auth_jwt on;
        ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_subscribe feed:\$ws_user;
    }
    location ~ ^/pub/(?<ch>.+)\$ { ws_publisher \$ch; }
    location = /json {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public};
    }
    location = /first {
        ws_listen; ws_echo on; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_auth_first_message on; ws_auth_timeout 1s;
    }
    location = /firstjson {
        ws_listen; ws_protocol json; ws_channels_allow room:*;
        ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_auth_first_message on; ws_auth_timeout 1s;
    }
    location = /nouserchannel {
        ws_listen; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public};
        ws_auth_jwt_user_channel off;
    }
CONF

my $ngx = start_nginx(name => 'jwt', log_level => 'info', http_config => $http,
                      config => $config);

sub hs { jwt_token(alg => 'HS256', key => $k->{HS256}, claims => shift, @_) }

sub accepted {
    my ($uri, $token, $name, %o) = @_;
    my $h = $o{headers} // "Authorization: Bearer $token\n";
    my $ws = eval { ws_connect(uri => $uri, headers => $h) };
    ok($ws, "$name - upgraded") or return diag($@);
    $ws->send_text("hi $name");
    $ws->expect("text hi $name", "$name - echo works");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->disconnect;
    return $ws;
}

my $rejections = 0;
sub refused {
    my ($uri, $token, $name, $why, %o) = @_;
    my $h = $o{headers} // (defined $token ? "Authorization: Bearer $token\n" : '');
    # this rejection's own line, not one an earlier case left
    my $lines = sub { scalar(() = $ngx->error_log =~ /ws: JWT rejected: \Q$why\E/g) };
    my $before = $lines->();
    my $res = ws_handshake_answer(uri => $uri, headers => $h);
    is($res->{status}, 401, "$name - 401");
    is($res->{header}{'www-authenticate'}, 'Bearer', "$name - WWW-Authenticate: Bearer");
    $rejections++;
    my $n = $rejections;
    ok(wait_for(sub { $lines->() > $before
                      && (() = $ngx->error_log =~ /handshake rejected with 401/g) >= $n }, 3),
       "$name - logged: $why");
}

# --- every algorithm, good tokens -------------------------------------
for my $alg (qw(HS256 HS384 HS512)) {
    accepted("/\L$alg", jwt_token(alg => $alg, key => $k->{$alg}, claims => $good), $alg);
}
for my $alg (qw(RS256 RS384 RS512)) {
    accepted("/\L$alg", jwt_token(alg => $alg, key => $k->{RSA}, claims => $good), $alg);
}
accepted('/es256', jwt_token(alg => 'ES256', key => $k->{P256}, claims => $good), 'ES256');
accepted('/es384', jwt_token(alg => 'ES384', key => $k->{P384}, claims => $good), 'ES384');
accepted('/es512', jwt_token(alg => 'ES512', key => $k->{P521}, claims => $good), 'ES512');
accepted('/eddsa', jwt_token(alg => 'EdDSA', key => $k->{Ed25519}, claims => $good), 'EdDSA');
accepted('/rotate', jwt_token(alg => 'RS256', key => $k->{RSA}, claims => $good),
         'the second of two RS256 keys');
accepted('/rotate', jwt_token(alg => 'EdDSA', key => $k->{Ed25519}, claims => $good),
         'EdDSA next to RS256 keys');
ok(wait_for(sub { $ngx->access_log =~ /^user=alice role=admin exp=\d+ code=1000 uri=\/hs256$/m }, 3),
   'access log has $ws_user and $ws_jwt_claim_* of the token');

# --- missing and malformed ---------------------------------------------
refused('/hs256', undef, 'no token', 'no token in the request');
refused('/hs256', undef, 'Basic credentials are not a token', 'no token in the request',
        headers => "Authorization: Basic YWxpY2U6cHc=\n");
refused('/hs256', 'abc', 'one part', 'malformed token (not three parts)');
refused('/hs256', 'a.b', 'two parts', 'malformed token (not three parts)');
refused('/hs256', 'a.b.c.d', 'four parts', 'malformed token (more than three parts)');
refused('/hs256', 'a+b.c.d', 'not base64url', 'malformed token (not base64url)');
refused('/hs256', b64url('not json') . '.' . b64url($good) . '.c2ln',
        'header not JSON', 'malformed token (header is not a JSON object)');
refused('/hs256', b64url('{"typ":"JWT"}') . '.' . b64url($good) . '.c2ln',
        'header without alg', 'malformed token (no "alg" in the header)');
refused('/hs256', hs('not json'), 'payload not JSON',
        'malformed token (payload is not a JSON object, or repeats a claim)');
refused('/hs256', hs('{"sub":"a","sub":"b"}'), 'a repeated claim',
        'malformed token (payload is not a JSON object, or repeats a claim)');
refused('/hs256', 'x' x 9000 . '.a.b', 'too long', 'token too long');

# --- signatures and algorithms -----------------------------------------
refused('/hs256', jwt_token(alg => 'HS256', secret => 'another secret of 32 bytes or so!',
                            claims => $good), 'wrong HS key', 'bad signature');
refused('/rs256', jwt_token(alg => 'RS256', key => $k->{RSA2}, claims => $good),
        'wrong RSA key', 'bad signature');
refused('/es256', jwt_token(alg => 'ES256', key => do { my %x = %{$k->{P256}};
        $x{private} = $k->{P384}{private}; \%x }, claims => $good, sign_as => 'ES256'),
        'wrong EC key', 'bad signature');
refused('/es512', jwt_token(alg => 'ES512', key => $k->{P521b}, claims => $good),
        'ES512 signed with another P-521 key', 'bad signature');
refused('/es512', jwt_token(alg => 'ES256', key => $k->{P256}, claims => $good),
        'ES256 token for an ES512 key', 'algorithm not accepted');
refused('/eddsa', jwt_token(alg => 'EdDSA', key => { private => "$dir/other-ed.key" }, claims => $good),
        'wrong Ed25519 key', 'bad signature')
    if system("openssl genpkey -algorithm ED25519 -out '$dir/other-ed.key' 2>/dev/null") == 0;
{
    my $t = hs($good);
    my ($h, $p, $s) = split /\./, $t;
    my $evil = b64url(json_obj(sub => 'mallory', role => 'admin', exp => $now + 3600));
    refused('/hs256', "$h.$evil.$s", 'payload changed after signing', 'bad signature');
    refused('/hs256', "$h.$p.", 'signature removed', 'bad signature');
}
refused('/hs256', jwt_token(alg => 'none', claims => $good), 'alg none', 'algorithm not accepted');
refused('/hs256', jwt_token(alg => 'none', header => '{"alg":"None"}', claims => $good),
        'alg None', 'algorithm not accepted');
refused('/hs256', jwt_token(alg => 'HS384', key => $k->{HS384}, secret => $k->{HS256}{secret},
                            claims => $good), 'HS384 token for an HS256 key', 'algorithm not accepted');
{
    # alg confusion: HS256 "signed" with the RSA public key as the secret
    open my $fh, '<', $k->{RSA}{public} or die $!;
    my $pem = do { local $/; <$fh> };
    refused('/rs256', jwt_token(alg => 'HS256', secret => $pem, claims => $good),
            'RS256 to HS256 confusion', 'algorithm not accepted');
}
refused('/rs256', jwt_token(alg => 'RS384', key => $k->{RSA}, claims => $good),
        'RS384 token for an RS256 key', 'algorithm not accepted');
refused('/hs256', jwt_token(alg => 'HS256', key => $k->{HS256}, claims => $good,
                            header => '{"alg":"HS256","crit":["exp"]}'),
        'critical header extension', 'token has critical header extensions');

# --- time claims ---------------------------------------------------------
refused('/hs256', hs(json_obj(sub => 'a', exp => $now - 5)), 'expired', 'token expired');
refused('/hs256', hs(json_obj(sub => 'a', exp => 'tomorrow')), 'exp not a number',
        '"exp" is not a NumericDate');
refused('/hs256', hs(json_obj(sub => 'a', nbf => $now + 600)), 'not valid yet',
        'token not valid yet (nbf)');
accepted('/hs256', hs(json_obj(sub => 'a')), 'no exp: a token that does not expire');
accepted('/hs256', hs(json_obj(sub => 'a', exp => $now + 60.5)), 'exp with a fraction');

my %claims = (iss => 'https://issuer.example', aud => 'chat');
accepted('/claims', hs(json_obj(sub => 'a', %claims, exp => $now - 10)), 'expired within the leeway');
accepted('/claims', hs(json_obj(sub => 'a', %claims, nbf => $now + 10)), 'nbf within the leeway');
refused('/claims', hs(json_obj(sub => 'a', %claims, exp => $now - 60)), 'expired beyond the leeway',
        'token expired');
refused('/claims', hs(json_obj(sub => 'a', %claims, nbf => $now + 60)), 'nbf beyond the leeway',
        'token not valid yet (nbf)');

# --- issuer and audience -------------------------------------------------
accepted('/claims', hs(json_obj(sub => 'a', iss => $claims{iss}, aud => ['web', 'chat'])),
         'audience in a list');
refused('/claims', hs(json_obj(sub => 'a', iss => $claims{iss}, aud => 'web')), 'wrong audience',
        'wrong or missing audience (aud)');
refused('/claims', hs(json_obj(sub => 'a', iss => $claims{iss})), 'missing audience',
        'wrong or missing audience (aud)');
refused('/claims', hs(json_obj(sub => 'a', iss => $claims{iss}, aud => [5])), 'audience not strings',
        'wrong or missing audience (aud)');
refused('/claims', hs(json_obj(sub => 'a', iss => 'https://evil.example', aud => 'chat')),
        'wrong issuer', 'wrong or missing issuer (iss)');
refused('/claims', hs(json_obj(sub => 'a', aud => 'chat')), 'missing issuer',
        'wrong or missing issuer (iss)');
refused('/hs256', hs(json_obj(sub => 5)), 'sub not a string', '"sub" is not a string');

# --- where the token comes from ------------------------------------------
my $t = hs($good);
{
    my $ws = eval { ws_connect(uri => "/sources?access_token=$t") };
    ok($ws, 'token in a query argument - upgraded') or diag($@);
    $ws->disconnect if $ws;
}
accepted('/sources', $t, 'token in a cookie', headers => "Cookie: theme=dark; jwt=$t\n");
accepted('/sources', $t, 'token in the Authorization header (last source)');
{
    my $ws = Test::NgxWs::Client->new(port => $port);
    my $res = $ws->handshake("GET /sources HTTP/1.1\nSec-WebSocket-Protocol: chat, bearer.$t\n");
    is($res->{status}, 101, 'token as a subprotocol entry - upgraded');
    is($res->{header}{'sec-websocket-protocol'}, 'chat',
       'token as a subprotocol entry - the real protocol is chosen, not the token');
    $ws->disconnect;
}
refused('/sources', undef, 'none of the sources', 'no token in the request',
        headers => "Cookie: other=$t\n");
refused('/sources', undef, 'a bad token in the first source wins', 'bad signature',
        headers => "Cookie: jwt=" . jwt_token(alg => 'HS256', secret => 'x' x 32, claims => $good)
                   . "\nAuthorization: Bearer $t\n");

# --- $ws_user in ws_subscribe -------------------------------------------
{
    my $ws = ws_connect(uri => '/feed', headers => "Authorization: Bearer $t\n");
    my $res = http_request(port => $port, raw => "POST /pub/feed:alice HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Length: 5\r\n\r\nhello");
    is($res->{status}, 200, '$ws_user in ws_subscribe - publish to feed:alice');
    $ws->expect('text hello', '$ws_user in ws_subscribe - alice receives feed:alice');
    $ws->disconnect;
}

# --- the user channel: every session of a user, any endpoint -------------
{
    my $name = 'user channel';
    my $a1 = ws_connect(uri => '/hs256', headers => "Authorization: Bearer $t\n");
    my $a2 = ws_connect(uri => '/feed', headers => "Authorization: Bearer $t\n");
    my $bob = ws_connect(uri => '/hs256', headers => "Authorization: Bearer "
                         . hs(json_obj(sub => 'bob')) . "\n");
    my $off = ws_connect(uri => '/nouserchannel', headers => "Authorization: Bearer $t\n");
    my $res = http_request(port => $port, raw => "POST /pub/user:alice HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Length: 8\r\n\r\nfor-you!");
    like($res->{body}, qr/"subscribers":2\b/, "$name - alice's two sessions are subscribed");
    $a1->expect('text for-you!', "$name - the echo session of alice gets it");
    $a2->expect('text for-you!', "$name - the feed session of alice gets it");
    $bob->send_text('ping-bob');
    $bob->expect('text ping-bob', "$name - bob gets only his own echo, not alice's message");
    $off->send_close(1000);
    $off->expect('close 1000', "$name - with ws_auth_jwt_user_channel off, nothing arrives");
    $_->disconnect for $a1, $a2, $bob, $off;
}

# --- expiry during the session, and refresh ------------------------------
{
    my $name = 'expiry';
    my $short = hs(json_obj(sub => 'carol', exp => time + 2));
    my $ws = ws_connect(uri => '/hs256', headers => "Authorization: Bearer $short\n");
    $ws->send_text('before');
    $ws->expect('text before', "$name - works before exp");
    my $m = eval { $ws->read_message(6) };
    is($m && $m->{op}, 'close', "$name - the server closes when exp passes");
    is($m && $m->{code}, 1008, "$name - with 1008");
    is($m && $m->{reason}, 'token expired', "$name - reason: token expired");
    ok(wait_for(sub { $ngx->error_log =~ /ws: token of user "carol" expired, closing with 1008/ }, 3),
       "$name - logged");
    $ws->disconnect;
}
{
    my $name = 'refresh';
    my $exp1 = time + 2;
    my $ws = ws_connect(uri => '/json', headers => "Authorization: Bearer "
                        . hs(json_obj(sub => 'dave', exp => $exp1)) . "\n");
    my $exp2 = time + 3600;
    $ws->send_text('{"op":"auth","id":1,"token":"' . hs(json_obj(sub => 'dave', exp => $exp2)) . '"}');
    $ws->expect('text {"op":"ack","id":1}', "$name - a fresh token is acknowledged");
    ok(wait_for(sub { $ngx->error_log =~ /ws: token refreshed for user "dave", expires at $exp2/ }, 3),
       "$name - logged with the new end");

    $ws->send_text('{"op":"auth","id":2,"token":"' . hs(json_obj(sub => 'eve', exp => $exp2)) . '"}');
    $ws->expect('text {"op":"error","id":2,"code":"unauthorized","message":"token is for another user"}',
                "$name - a token of another user is refused");
    $ws->send_text('{"op":"auth","id":3,"token":"' . hs(json_obj(sub => 'dave', exp => time - 10)) . '"}');
    $ws->expect('text {"op":"error","id":3,"code":"unauthorized","message":"invalid token"}',
                "$name - an expired token is refused");
    $ws->send_text('{"op":"auth","id":4,"token":"' . jwt_token(alg => 'HS256', secret => 'y' x 32,
                   claims => json_obj(sub => 'dave')) . '"}');
    $ws->expect('text {"op":"error","id":4,"code":"unauthorized","message":"invalid token"}',
                "$name - a badly signed token is refused");
    $ws->send_text('{"op":"auth","id":5}');
    $ws->expect('text {"op":"error","id":5,"code":"bad_request","message":"missing token"}',
                "$name - auth without a token is a bad request");

    # past the first token's end the session goes on
    sleep 0.2 while time <= $exp1 + 1;
    $ws->send_text('{"op":"subscribe","id":6,"channel":"room:x"}');
    $ws->expect('text {"op":"ack","id":6}', "$name - the session outlives the first token");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    $ws->disconnect;
}

{
    my $name = 'refresh without sub';
    my $ws = ws_connect(uri => '/json', headers => "Authorization: Bearer "
                        . hs(json_obj(role => 'anon', exp => time + 60)) . "\n");
    $ws->send_text('{"op":"auth","id":1,"token":"' . hs(json_obj(role => 'anon', exp => time + 3600)) . '"}');
    $ws->expect('text {"op":"ack","id":1}', "$name - a token without sub refreshes one without sub");
    $ws->send_text('{"op":"auth","id":2,"token":"' . hs(json_obj(sub => 'x', exp => time + 3600)) . '"}');
    $ws->expect('text {"op":"error","id":2,"code":"unauthorized","message":"token is for another user"}',
                "$name - but not into a user");
    $ws->disconnect;
}

# --- the token as the first message --------------------------------------
{
    my $name = 'first message, raw';
    my $fm = hs(json_obj(sub => 'fiona', exp => time + 600));
    my $ws = ws_connect(uri => '/first');
    $ws->send_text($fm);
    $ws->send_text('after the token');
    $ws->expect('text after the token', "$name - the token is taken, not echoed; then echo works");
    ok(wait_for(sub { $ngx->error_log =~ /ws: user "fiona" authenticated by its first message/ }, 3),
       "$name - logged");
    my $res = http_request(port => $port, raw => "POST /pub/user:fiona HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\nContent-Length: 3\r\n\r\nyou");
    $ws->expect('text you', "$name - the user channel is joined after the token");
    $ws->disconnect;

    {
        # the token right behind the handshake, in the same write: taken
        # before the session has started, channels joined all the same
        my $piped = hs(json_obj(sub => 'hugo', exp => time + 600));
        my $frame = Test::NgxWs::Client::encode_frame(op => 1, payload => $piped);
        my $c = Test::NgxWs::Client->new(port => $port);
        no warnings 'redefine';
        my $orig = \&Test::NgxWs::write_all;
        local *Test::NgxWs::write_all = sub { my ($sock, $b) = @_;
            *Test::NgxWs::write_all = $orig; $orig->($sock, $b . $frame) };
        my $r = $c->handshake("GET /first HTTP/1.1\n");
        is($r->{status}, 101, "$name - token sent with the handshake: 101");
        ok(wait_for(sub { $ngx->error_log =~ /ws: user "hugo" authenticated by its first message/ }, 3),
           "$name - token sent with the handshake: taken");
        $res = http_request(port => $port, raw => "POST /pub/user:hugo HTTP/1.1\r\nHost: x\r\n"
            . "Connection: close\r\nContent-Length: 4\r\n\r\nhugo");
        like($res->{body}, qr/"subscribers":1\b/, "$name - token sent with the handshake: user channel joined");
        $c->expect('text hugo', "$name - token sent with the handshake: and delivered");
        $c->disconnect;
    }

    $ws = ws_connect(uri => '/first', headers => "Authorization: Bearer $fm\n");
    $ws->send_text('no wait');
    $ws->expect('text no wait', "$name - a token in the request still works");
    $ws->disconnect;

    $ws = ws_connect(uri => '/first');
    $ws->send_text('not a token');
    $ws->expect('close 1008 invalid token', "$name - a bad first message closes with 1008");
    $ws->disconnect;

    $ws = ws_connect(uri => '/first');
    $ws->send_binary("\x01");
    $ws->expect('close 1008 authentication required', "$name - a binary first message: 1008");
    $ws->disconnect;

    $ws = ws_connect(uri => '/first');
    my $m = eval { $ws->read_message(5) };
    is($m && $m->{op}, 'close', "$name - silence: the server closes");
    is($m && $m->{code}, 1008, "$name - with 1008");
    is($m && $m->{reason}, 'authentication timeout', "$name - reason: authentication timeout");
    ok(wait_for(sub { $ngx->error_log =~ /ws: no token within ws_auth_timeout, closing with 1008/ }, 3),
       "$name - logged");
    $ws->disconnect;
}
{
    my $name = 'first message, JSON protocol';
    my $ws = ws_connect(uri => '/firstjson');
    $ws->send_text('{"op":"subscribe","id":1,"channel":"room:a"}');
    $ws->expect('close 1008 authentication required', "$name - a request before the token: 1008");
    $ws->disconnect;

    $ws = ws_connect(uri => '/firstjson');
    $ws->send_text('{"op":"auth","id":1,"token":"' . hs(json_obj(sub => 'gus', exp => time + 600)) . '"}');
    $ws->expect('text {"op":"ack","id":1}', "$name - the auth request is acknowledged");
    $ws->send_text('{"op":"subscribe","id":2,"channel":"room:a"}');
    $ws->expect('text {"op":"ack","id":2}', "$name - then requests work");
    $ws->disconnect;

    $ws = ws_connect(uri => '/firstjson');
    $ws->send_text('{"op":"auth","id":1,"token":"' . hs(json_obj(sub => 'gus', exp => time - 600)) . '"}');
    $ws->expect('text {"op":"error","id":1,"code":"unauthorized","message":"invalid token"}',
                "$name - an expired token is answered");
    $ws->expect('close 1008 invalid token', "$name - and the session closed");
    $ws->disconnect;
}

check_logs($ngx);
done_testing();
