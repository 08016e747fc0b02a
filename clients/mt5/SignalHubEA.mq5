//+------------------------------------------------------------------+
//| SignalHubEA.mq5: executes the trader's approved signalhub signals |
//|                                                                  |
//| Polls GET /api/v1/ea/poll, skips what has expired, places the    |
//| order with SL and the first TP through CTrade, and acknowledges  |
//| with POST /api/v1/ea/ack (ticket and price, or the error). A     |
//| signal offered again (the server got no ack within its lease) is |
//| acknowledged again with the recorded ack, never traded twice.    |
//| Every InpSnapshotEveryS seconds it reports the account and its   |
//| open positions (POST /api/v1/ea/snapshot), which verifies the    |
//| trader's account link and feeds the Mini App's Positions tab.    |
//| Every request is signed as the README's "Devices and the EA API" |
//| section describes; see the test vector there.                    |
//|                                                                  |
//| Allow the server's address in Tools > Options > Expert Advisors  |
//| > "Allow WebRequest for listed URL".                             |
//+------------------------------------------------------------------+
#property copyright "signalhub"
#property version   "1.00"
#property strict

#include <Trade/Trade.mqh>

input string InpServerUrl   = "https://signals.example.com"; // Server URL
input long   InpDeviceId    = 0;                             // Device id
input string InpSecret      = "";                            // Device secret
input double InpLots        = 0.10;                          // Lots per order (when risk is 0)
input double InpRiskPercent = 0.0;                           // Risk % of balance per order (0: fixed lots)
input long   InpMagic       = 20261130;                      // Magic number
input int    InpPollWaitS   = 20;                            // Long-poll wait (s)
input int    InpSnapshotEveryS = 10;                         // Account snapshot every (s); 0: never

CTrade trade;
int    nonce_counter = 0;
long   clock_offset_s = 0;
uint   last_snapshot_ms = 0;
string pairing_shown = "";
// The ack of each approval executed since the EA started, by approval id.
string acked_ids[];
string acked_bodies[];

//--- SHA-256 and HMAC-SHA256 ------------------------------------------
void Sha256(const uchar &data[], uchar &digest[])
  {
   uchar no_key[];
   CryptEncode(CRYPT_HASH_SHA256, data, no_key, digest);
  }

string Hex(const uchar &bytes[])
  {
   string text = "";
   for(int i = 0; i < ArraySize(bytes); i++)
      text += StringFormat("%02x", bytes[i]);
   return text;
  }

void Utf8(const string text, uchar &bytes[])
  {
   int written = StringToCharArray(text, bytes, 0, -1, CP_UTF8);
   ArrayResize(bytes, MathMax(written - 1, 0)); // drop the terminating NUL
  }

string HmacSha256Hex(const string key_text, const uchar &message[])
  {
   uchar key[], inner[], outer[], inner_digest[], digest[];
   Utf8(key_text, key);
   if(ArraySize(key) > 64)
     {
      uchar hashed[];
      Sha256(key, hashed);
      ArrayCopy(key, hashed);
      ArrayResize(key, 32);
     }
   ArrayResize(key, 64);              // zero padding to the block size
   ArrayResize(inner, 64 + ArraySize(message));
   for(int i = 0; i < 64; i++)
      inner[i] = (uchar)(key[i] ^ 0x36);
   ArrayCopy(inner, message, 64);
   Sha256(inner, inner_digest);
   ArrayResize(outer, 64 + ArraySize(inner_digest));
   for(int i = 0; i < 64; i++)
      outer[i] = (uchar)(key[i] ^ 0x5c);
   ArrayCopy(outer, inner_digest, 64);
   Sha256(outer, digest);
   return Hex(digest);
  }

//--- Signed requests ---------------------------------------------------
string Nonce()
  {
   nonce_counter++;
   return StringFormat("%I64d-%08x%08x-%d", InpDeviceId, MathRand() * 65536 + MathRand(),
                       (uint)GetTickCount(), nonce_counter);
  }

// Returns the HTTP status; `answer` holds the body.
int Signed(const string method, const string target, const string body, string &answer)
  {
   uchar payload[], body_hash[], result[];
   Utf8(body, payload);
   Sha256(payload, body_hash);
   string timestamp = IntegerToString((long)TimeGMT() + clock_offset_s);
   string nonce = Nonce();
   uchar to_sign[];
   Utf8(method + "\n" + target + "\n" + timestamp + "\n" + nonce + "\n" + Hex(body_hash), to_sign);
   string headers = "X-Device-Id: " + IntegerToString(InpDeviceId) + "\r\n"
                    + "X-Timestamp: " + timestamp + "\r\n"
                    + "X-Nonce: " + nonce + "\r\n"
                    + "X-Signature: " + HmacSha256Hex(InpSecret, to_sign) + "\r\n";
   if(body != "")
      headers += "Content-Type: application/json\r\n";
   string response_headers;
   ResetLastError();
   int status = WebRequest(method, InpServerUrl + target, headers, (InpPollWaitS + 10) * 1000,
                           payload, result, response_headers);
   answer = CharArrayToString(result, 0, WHOLE_ARRAY, CP_UTF8);
   if(status == -1)
      PrintFormat("signalhub: WebRequest failed (%d); is the URL allowed in the options?", GetLastError());
   if(status == 401 && StringFind(answer, "\"clock_skew\"") >= 0)
      clock_offset_s = (long)StringToInteger(JsonValue(answer, "server_time")) - (long)TimeGMT();
   return status;
  }

//--- Minimal JSON reading: flat values of the server's own answers ------
string JsonValue(const string json, const string key)
  {
   int at = StringFind(json, "\"" + key + "\":");
   if(at < 0)
      return "";
   int start = at + StringLen(key) + 3;
   if(StringGetCharacter(json, start) == '"')
     {
      int close = StringFind(json, "\"", start + 1);
      return StringSubstr(json, start + 1, close - start - 1);
     }
   if(StringGetCharacter(json, start) == '[')
     {
      int close = StringFind(json, "]", start);
      return StringSubstr(json, start + 1, close - start - 1);
     }
   int end = start;
   while(end < StringLen(json) && StringFind(",}", StringSubstr(json, end, 1)) < 0)
      end++;
   return StringSubstr(json, start, end - start);
  }

// The signal objects of {"signals":[{...},{...}]}; none of their values holds braces.
int SplitSignals(const string json, string &signals[])
  {
   ArrayResize(signals, 0);
   int at = StringFind(json, "{", StringFind(json, "\"signals\":[") + 1);
   while(at >= 0)
     {
      int close = StringFind(json, "}", at);
      if(close < 0)
         break;
      int n = ArraySize(signals);
      ArrayResize(signals, n + 1);
      signals[n] = StringSubstr(json, at, close - at + 1);
      at = StringFind(json, "{", close);
     }
   return ArraySize(signals);
  }

//--- Orders -------------------------------------------------------------
double Lots(const string symbol, const double entry, const double stop_loss)
  {
   double lots = InpLots;
   double tick_size = SymbolInfoDouble(symbol, SYMBOL_TRADE_TICK_SIZE);
   double tick_value = SymbolInfoDouble(symbol, SYMBOL_TRADE_TICK_VALUE);
   if(InpRiskPercent > 0 && tick_size > 0 && tick_value > 0 && entry != stop_loss)
     {
      double risk = AccountInfoDouble(ACCOUNT_BALANCE) * InpRiskPercent / 100.0;
      lots = risk / (MathAbs(entry - stop_loss) / tick_size * tick_value);
     }
   double step = SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP);
   lots = MathFloor(lots / step) * step;
   return MathMax(SymbolInfoDouble(symbol, SYMBOL_VOLUME_MIN),
                  MathMin(lots, SymbolInfoDouble(symbol, SYMBOL_VOLUME_MAX)));
  }

string Execute(const string signal)
  {
   string approval_id = JsonValue(signal, "approval_id");
   string symbol = JsonValue(signal, "symbol");
   string side = JsonValue(signal, "side");
   string order_type = JsonValue(signal, "order_type");
   double entry = StringToDouble(JsonValue(signal, "entry_price"));
   double stop_loss = StringToDouble(JsonValue(signal, "stop_loss"));
   string targets = JsonValue(signal, "take_profits");
   StringReplace(targets, "\"", "");
   string first_target[];
   StringSplit(targets, ',', first_target);
   double take_profit = ArraySize(first_target) > 0 ? StringToDouble(first_target[0]) : 0.0;
   long expires_at = (long)StringToInteger(JsonValue(signal, "expires_at_unix"));

   string ack = "{\"approval_id\":" + approval_id + ",";
   if(expires_at <= (long)TimeGMT() + clock_offset_s)
      return ack + "\"status\":\"skipped\",\"error\":\"expired\"}";
   if(!SymbolSelect(symbol, true))
      return ack + "\"status\":\"failed\",\"error\":\"unknown symbol " + symbol + "\"}";

   double lots = Lots(symbol, entry, stop_loss);
   string comment = "signalhub " + approval_id;
   bool placed = false;
   bool buy = (side == "buy");
   if(order_type == "market")
      placed = buy ? trade.Buy(lots, symbol, 0.0, stop_loss, take_profit, comment)
                   : trade.Sell(lots, symbol, 0.0, stop_loss, take_profit, comment);
   else if(order_type == "limit")
      placed = buy ? trade.BuyLimit(lots, entry, symbol, stop_loss, take_profit, ORDER_TIME_GTC, 0, comment)
                   : trade.SellLimit(lots, entry, symbol, stop_loss, take_profit, ORDER_TIME_GTC, 0, comment);
   else if(order_type == "stop")
      placed = buy ? trade.BuyStop(lots, entry, symbol, stop_loss, take_profit, ORDER_TIME_GTC, 0, comment)
                   : trade.SellStop(lots, entry, symbol, stop_loss, take_profit, ORDER_TIME_GTC, 0, comment);

   uint retcode = trade.ResultRetcode();
   if(!placed || (retcode != TRADE_RETCODE_DONE && retcode != TRADE_RETCODE_PLACED))
      return ack + "\"status\":\"failed\",\"error\":\"" + trade.ResultRetcodeDescription() + "\"}";
   double price = trade.ResultPrice() > 0 ? trade.ResultPrice() : entry;
   int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
   return ack + "\"status\":\"executed\",\"ticket\":" + IntegerToString((long)trade.ResultOrder())
          + ",\"price\":\"" + DoubleToString(price, digits) + "\",\"volume\":\""
          + DoubleToString(lots, 2) + "\"}";
  }

// The ack recorded for this approval, or "" when it was never executed here.
string RecordedAck(const string approval_id)
  {
   for(int i = 0; i < ArraySize(acked_ids); i++)
      if(acked_ids[i] == approval_id)
         return acked_bodies[i];
   return "";
  }

void RecordAck(const string approval_id, const string ack)
  {
   int n = ArraySize(acked_ids);
   ArrayResize(acked_ids, n + 1);
   ArrayResize(acked_bodies, n + 1);
   acked_ids[n] = approval_id;
   acked_bodies[n] = ack;
  }

//--- Account snapshots --------------------------------------------------
string JsonText(string text)
  {
   StringReplace(text, "\\", "\\\\");
   StringReplace(text, "\"", "\\\"");
   return "\"" + text + "\"";
  }

// Decimals as strings: the server keeps them exactly, never through a float.
string Figure(const double value, const int digits)
  {
   return "\"" + DoubleToString(value, digits) + "\"";
  }

string TradeModeName()
  {
   long mode = AccountInfoInteger(ACCOUNT_TRADE_MODE);
   if(mode == ACCOUNT_TRADE_MODE_DEMO)
      return "demo";
   return mode == ACCOUNT_TRADE_MODE_CONTEST ? "contest" : "real";
  }

// MetaTrader's account_info() and positions_get(), under the names the server expects.
string SnapshotJson()
  {
   string json = "{\"account\":{\"login\":" + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN))
                 + ",\"server\":" + JsonText(AccountInfoString(ACCOUNT_SERVER))
                 + ",\"company\":" + JsonText(AccountInfoString(ACCOUNT_COMPANY))
                 + ",\"currency\":" + JsonText(AccountInfoString(ACCOUNT_CURRENCY))
                 + ",\"leverage\":" + IntegerToString(AccountInfoInteger(ACCOUNT_LEVERAGE))
                 + ",\"trade_mode\":\"" + TradeModeName() + "\""
                 + ",\"balance\":" + Figure(AccountInfoDouble(ACCOUNT_BALANCE), 2)
                 + ",\"equity\":" + Figure(AccountInfoDouble(ACCOUNT_EQUITY), 2)
                 + ",\"margin\":" + Figure(AccountInfoDouble(ACCOUNT_MARGIN), 2)
                 + ",\"margin_free\":" + Figure(AccountInfoDouble(ACCOUNT_MARGIN_FREE), 2)
                 + ",\"margin_level\":" + Figure(AccountInfoDouble(ACCOUNT_MARGIN_LEVEL), 2)
                 + ",\"profit\":" + Figure(AccountInfoDouble(ACCOUNT_PROFIT), 2)
                 + "},\"positions\":[";
   bool first = true;
   for(int i = 0; i < PositionsTotal(); i++)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket == 0)
         continue;
      string symbol = PositionGetString(POSITION_SYMBOL);
      int digits = (int)SymbolInfoInteger(symbol, SYMBOL_DIGITS);
      json += (first ? "" : ",") + "{\"ticket\":" + IntegerToString((long)ticket)
              + ",\"symbol\":" + JsonText(symbol)
              + ",\"type\":\"" + (PositionGetInteger(POSITION_TYPE) == POSITION_TYPE_BUY ? "buy" : "sell") + "\""
              + ",\"volume\":" + Figure(PositionGetDouble(POSITION_VOLUME), 2)
              + ",\"price_open\":" + Figure(PositionGetDouble(POSITION_PRICE_OPEN), digits)
              + ",\"price_current\":" + Figure(PositionGetDouble(POSITION_PRICE_CURRENT), digits)
              + ",\"sl\":" + Figure(PositionGetDouble(POSITION_SL), digits)
              + ",\"tp\":" + Figure(PositionGetDouble(POSITION_TP), digits)
              + ",\"profit\":" + Figure(PositionGetDouble(POSITION_PROFIT), 2)
              + ",\"swap\":" + Figure(PositionGetDouble(POSITION_SWAP), 2)
              + ",\"time\":" + IntegerToString(PositionGetInteger(POSITION_TIME))
              + ",\"magic\":" + IntegerToString(PositionGetInteger(POSITION_MAGIC))
              + ",\"comment\":" + JsonText(PositionGetString(POSITION_COMMENT)) + "}";
      first = false;
     }
   return json + "]}";
  }

// Shows the pairing code the server answers, so the trader can compare it with the Mini App's.
void PushSnapshot()
  {
   string answer;
   int status = Signed("POST", "/api/v1/ea/snapshot", SnapshotJson(), answer);
   if(status != 200)
     {
      PrintFormat("signalhub: snapshot refused (%d): %s", status, answer);
      return;
     }
   string code = JsonValue(answer, "pairing_code");
   if(code != pairing_shown)
     {
      pairing_shown = code;
      PrintFormat("signalhub: %s", JsonValue(answer, "message"));
      Comment("signalhub: account " + JsonValue(answer, "status") + ", pairing code " + code);
     }
  }

//--- Event handlers -----------------------------------------------------
int OnInit()
  {
   if(InpDeviceId <= 0 || StringLen(InpSecret) < 20)
     {
      Print("signalhub: set the device id and secret from the Mini App's Devices tab");
      return INIT_PARAMETERS_INCORRECT;
     }
   trade.SetExpertMagicNumber(InpMagic);
   MathSrand((uint)GetTickCount());
   string answer;
   int status = Signed("GET", "/api/v1/ea/me", "", answer);
   if(status != 200)
      PrintFormat("signalhub: the server refused this device (%d): %s", status, answer);
   EventSetTimer(1);
   return INIT_SUCCEEDED;
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
  }

void OnTimer()
  {
   if(InpSnapshotEveryS > 0 && (last_snapshot_ms == 0 || GetTickCount() - last_snapshot_ms >= (uint)InpSnapshotEveryS * 1000))
     {
      last_snapshot_ms = GetTickCount();
      PushSnapshot();
     }
   string answer;
   int status = Signed("GET", "/api/v1/ea/poll?wait=" + IntegerToString(InpPollWaitS), "", answer);
   if(status != 200)
     {
      if(status == 401)
         PrintFormat("signalhub: refused: %s", answer);
      return;
     }
   string signals[];
   int count = SplitSignals(answer, signals);
   for(int i = 0; i < count; i++)
     {
      string approval_id = JsonValue(signals[i], "approval_id");
      string ack = RecordedAck(approval_id);
      if(ack == "")
        {
         ack = Execute(signals[i]);
         RecordAck(approval_id, ack);
        }
      string ack_answer;
      int ack_status = Signed("POST", "/api/v1/ea/ack", ack, ack_answer);
      PrintFormat("signalhub: %s -> %d", ack, ack_status);
     }
  }
//+------------------------------------------------------------------+
