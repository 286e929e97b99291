-- PUT a save for a random user of tenant "bench" (fresh agent ids per save)
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local hex = "0123456789abcdef"
local function uuid()
  local t = {}
  for i = 1, 32 do local r = math.random(1, 16); t[i] = hex:sub(r, r) end
  t[13] = "4"; t[17] = "8"
  local s = table.concat(t)
  return s:sub(1,8).."-"..s:sub(9,12).."-"..s:sub(13,16).."-"..s:sub(17,20).."-"..s:sub(21,32)
end
local n = 0
request = function()
  n = n + 1
  local body = '{"callAgentId":"c_'..n..'","smsAgentId":"s_'..n..'"}'
  return wrk.format("PUT", "/api/v1/agent-config/bench/"..uuid(), {
    ["Authorization"] = "Bearer "..token, ["Content-Type"] = "application/json"}, body)
end
init = function(args) token = args[1] end
local codes = {}
response = function(status) codes[status] = (codes[status] or 0) + 1 end
